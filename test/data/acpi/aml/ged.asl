/* If, LEqual, ArgN and Notify: the GED's _EVT. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Scope (\_SB)
    {
        Device (VGEN)
        {
            Name (_HID, "ACPI0013")
        }
        Device (GED)
        {
            Name (_HID, "ACPI0013")
            Method (MEVT, 2, Serialized)
            {
                If (LEqual (Arg0, 0x16))
                {
                    Notify (\_SB.VGEN, 0x80)
                }
                If (LEqual (Arg0, Arg1))
                {
                    Notify (\_SB.VGEN, One)
                }
            }
        }
    }
}
