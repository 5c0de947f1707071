/* ResourceTemplate: Memory32Fixed, IO, IRQNoFlags, extended Interrupt, End Tag. */
DefinitionBlock ("", "DSDT", 2, "EMBER ", "AMLTEST ", 1)
{
    Name (R0, ResourceTemplate ()
    {
        Memory32Fixed (ReadWrite, 0xC0001000, 0x00001000, )
        Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 5 }
    })
    Name (R1, ResourceTemplate ()
    {
        IO (Decode16, 0x0060, 0x0060, 0x01, 0x01, )
        IO (Decode16, 0x0064, 0x0064, 0x01, 0x01, )
        IRQNoFlags () { 1 }
    })
    Name (R2, ResourceTemplate ()
    {
        Memory32Fixed (ReadOnly, 0xFEC00000, 0x00100000, )
        IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, )
        IRQNoFlags () { 15 }
        Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, ) { 23 }
    })
    Name (R3, ResourceTemplate () { })
}
