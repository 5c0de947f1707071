/* Packages: flat, nested, the sleep state package. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (\_S5, Package () { 0x05, Zero })
    Name (P0, Package () { })
    Name (P1, Package () { One, Package () { 0x02, "x" }, 0x1234, EisaId ("PNP0303") })
}
