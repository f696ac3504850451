/*
 * A stand-in "kernel" that marks r20 and spins: the QEMU test injects a system reset (NMI) and
 * tern's 0x100 vector must report it as an exception, not restart the boot.
 */
  .text
  .globl _start
_start:
  lis %r20, 0x5b1e         /* r20 = 0x5b1e0000 */
1:b 1b
