/* EisaId compression. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (E0, EisaId ("PNP0501"))
    Name (E1, EisaId ("PNP0303"))
    Name (E2, EisaId ("PNP0A03"))
    Name (E3, EisaId ("ACP0013"))
}
