  .text
/* Entry of the client's second CPU, started with RTAS start-cpu(id, pc, r3): 64-bit real mode,
 * r3 as given, no stack. */
  .globl secondary_start
secondary_start:
  lis %r1, secondary_stack_top@ha
  addi %r1, %r1, secondary_stack_top@l
  li %r0, 0
  stdu %r0, -32(%r1)
  lis %r2, .TOC.@ha
  addi %r2, %r2, .TOC.@l
  bl secondary_main
  nop
  b .

  .section .bss.secondary_stack, "aw", @nobits
  .balign 16
  .space 16384
secondary_stack_top:
