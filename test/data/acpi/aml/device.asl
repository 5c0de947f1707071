/* Scope and Device nesting, as the DSDT's COM1 uses them. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Scope (\_SB)
    {
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, Zero)
            Name (_DDN, "COM1")
        }
        Device (V000)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 0x00)
        }
    }
}
