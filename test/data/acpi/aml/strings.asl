/* Strings, the empty one included. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (S0, "")
    Name (S1, "LNRO0005")
    Name (S2, "COM1")
}
