/* The shortest prefix for each integer: ZeroOp, OneOp, Byte, Word, DWord, QWord, at every boundary. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (IZ, 0)
    Name (IO, 1)
    Name (IB2, 2)
    Name (IBF, 0xFF)
    Name (IW1, 0x100)
    Name (IWF, 0xFFFF)
    Name (ID1, 0x10000)
    Name (IDF, 0xFFFFFFFF)
    Name (IQ1, 0x100000000)
    Name (IQ, 0x123456789ABCDEF0)
}
