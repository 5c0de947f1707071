/* NameSeg padding, the root prefix, DualNamePrefix, MultiNamePrefix, the parent prefix. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (I0, 0)
    Name (\I1, One)
    Scope (\_SB) { Device (DEV0) { Name (_UID, 0) } }
    Name (\_SB.DEV0.ABC, 1)
    Scope (\_SB.DEV0) { Name (^PPP, 1) }
    Name (\_SB.X, 1)
}
