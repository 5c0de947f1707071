/* Method and Return. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Device (PS2)
    {
        Method (_STA, 0, NotSerialized)
        {
            Return (0x0F)
        }
    }
    Method (M2, 2, Serialized)
    {
        Return ("x")
    }
    Method (M7, 7, NotSerialized)
    {
        Return (Package () { One })
    }
}
