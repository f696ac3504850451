/* Entry of the RTAS test client, entered by tern like a kernel: r5 = client-interface entry,
 * r1 = a stack. Linked at 0x400000, where QEMU's -kernel puts it. */
  .section .text.start, "ax"
  .globl _start
_start:
  lis %r2, .TOC.@ha
  addi %r2, %r2, .TOC.@l
  mr %r3, %r5
  bl client_main
  nop
  b .
