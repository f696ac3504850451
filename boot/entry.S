/*
 * Image head: identification block, interrupt vectors, and the boot entry.
 *
 * QEMU loads the image at real address 0 and starts CPU 0 at 0x100 with MSR = 0 (32-bit,
 * big-endian, real mode), r1 = 0 and r3 = the FDT address (QEMU
 * hw/ppc/spapr.c: spapr_machine_reset, spapr_cpu_set_entry_state; docs/boot.md). 0x100 is also the system-reset vector: a system reset interrupt sets MSR[SF], a
 * fresh start does not, and that tells the two apart.
 *
 * Every other vector saves r3 in SPRG2 and CR in SPRG0, loads its number into r3 and branches to
 * exception_common, which fills tern_exception_frame (layout: boot/exception.h) and calls
 * tern_exception() on a stack of its own.
 */

#define SPRG0 272
#define SPRG2 274
#define SPRG3 275
#define SRR0 26
#define SRR1 27
#define DAR 19
#define DSISR 18

#define FRAME_VECTOR 256
#define FRAME_SRR0 264
#define FRAME_SRR1 272
#define FRAME_LR 280
#define FRAME_CTR 288
#define FRAME_CR 296
#define FRAME_XER 304
#define FRAME_DAR 312
#define FRAME_DSISR 320
#define FRAME_MSR 328

/* Loads the address of `sym`: the image runs at 0, well below 2 GiB. */
#define LOAD_ADDR(reg, sym) lis reg, sym@ha; addi reg, reg, sym@l

  .section .head, "ax"
  .globl __tern_identification
__tern_identification:
  .ascii "TERN"                         /* magic, for tools that look at an image or a dump */
  .long 1                               /* identification block version */
  .asciz TERN_VERSION_STRING

  .macro VECTOR vec
  .org \vec
  mtspr SPRG2, %r3
  mfcr %r3
  mtspr SPRG0, %r3
  li %r3, \vec
  b exception_common
  .endm

  .org 0x100
  .globl _start
_start:
  mtspr SPRG2, %r3
  mfcr %r3
  mtspr SPRG0, %r3
  mfmsr %r3
  rldicl. %r3, %r3, 1, 63              /* MSR[SF] */
  beq boot_entry                       /* clear: started by the hypervisor */
  li %r3, 0x100
  b exception_common

  VECTOR 0x200
  VECTOR 0x300
  VECTOR 0x380
  VECTOR 0x400
  VECTOR 0x480
  VECTOR 0x500
  VECTOR 0x600
  VECTOR 0x700
  VECTOR 0x800
  VECTOR 0x900
  VECTOR 0x980
  VECTOR 0xa00
  VECTOR 0xb00
  VECTOR 0xc00
  VECTOR 0xd00
  VECTOR 0xe00
  VECTOR 0xe20
  VECTOR 0xe40
  VECTOR 0xe60
  VECTOR 0xe80
  VECTOR 0xea0
  VECTOR 0xf00
  VECTOR 0xf20
  VECTOR 0xf40
  VECTOR 0xf60
  VECTOR 0xf80
  VECTOR 0x1000
  VECTOR 0x1100
  VECTOR 0x1200
  VECTOR 0x1300
  VECTOR 0x1400
  VECTOR 0x1500
  VECTOR 0x1600
  VECTOR 0x1700

  .org 0x1800
boot_entry:
  mfspr %r31, SPRG2                    /* FDT address from the hypervisor */
  /* 64-bit mode, machine checks enabled, recoverable: MSR = SF | ME | RI. */
  li %r4, 1
  sldi %r4, %r4, 63
  ori %r4, %r4, 0x1002
  mtmsrd %r4
  isync
  /* Clear .bss: the image is reloaded on reset, the RAM after it is not. */
  LOAD_ADDR(%r5, __bss_start)
  LOAD_ADDR(%r6, __bss_end)
  li %r0, 0
1:cmpld %r5, %r6
  bge 2f
  std %r0, 0(%r5)
  addi %r5, %r5, 8
  b 1b
2:LOAD_ADDR(%r1, __boot_stack_top)
  stdu %r0, -32(%r1)                   /* ELFv2 minimum frame, back chain 0 */
  LOAD_ADDR(%r2, .TOC.)
  mr %r3, %r31
  bl tern_main
  nop
  b .

exception_common:
  mtspr SPRG3, %r1
  LOAD_ADDR(%r1, tern_exception_frame)
  std %r3, FRAME_VECTOR(%r1)
  std %r0, 0(%r1)
  mfspr %r3, SPRG3
  std %r3, 8(%r1)
  std %r2, 16(%r1)
  mfspr %r3, SPRG2
  std %r3, 24(%r1)
  .irp n, 4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  std \n, \n*8(%r1)
  .endr
  mfspr %r3, SPRG0
  std %r3, FRAME_CR(%r1)
  mflr %r3
  std %r3, FRAME_LR(%r1)
  mfctr %r3
  std %r3, FRAME_CTR(%r1)
  mfxer %r3
  std %r3, FRAME_XER(%r1)
  mfspr %r3, SRR0
  std %r3, FRAME_SRR0(%r1)
  mfspr %r3, SRR1
  std %r3, FRAME_SRR1(%r1)
  mfspr %r3, DAR
  std %r3, FRAME_DAR(%r1)
  mfspr %r3, DSISR
  std %r3, FRAME_DSISR(%r1)
  mfmsr %r3
  std %r3, FRAME_MSR(%r1)
  LOAD_ADDR(%r1, __exception_stack_top)
  li %r0, 0
  stdu %r0, -32(%r1)
  LOAD_ADDR(%r2, .TOC.)
  LOAD_ADDR(%r3, tern_exception_frame)
  bl tern_exception
  nop
  b .

/*
 * The client-interface entry handed to the OS in r5 [IEEE 1275 6.3.1]. Called like a function,
 * r3 = the argument block, in real mode, in 32-bit mode (Linux clears MSR[SF]) or 64-bit mode.
 * Runs tern_client_call() in 64-bit mode on the caller's stack, then restores the caller's MSR
 * and returns the status (0, or -1 for an unknown service or a bad block) in r3.
 */
  .text
  .globl tern_client_entry
  .type tern_client_entry, @function
tern_client_entry:
  mfmsr %r11
  li %r12, 1
  sldi %r12, %r12, 63
  or %r12, %r12, %r11
  mtmsrd %r12                          /* MSR[SF] = 1 */
  isync
  clrldi %r3, %r3, 32                  /* a 32-bit caller's registers are 32-bit addresses */
  clrldi %r1, %r1, 32
  /* Nothing is stored in the caller's frame: a 32-bit SysV caller (GRUB) keeps its locals where
     an ELFv2 caller has its LR save slot. LR, r2, the caller's MSR and r13 go in tern's own frame
     (0 back chain, 8-24 the ELFv2 slots of the callee's saves, 32-48 tern's). */
  mflr %r0
  stdu %r1, -64(%r1)
  std %r0, 48(%r1)
  std %r2, 24(%r1)
  std %r11, 32(%r1)
  std %r13, 40(%r1)
  LOAD_ADDR(%r2, .TOC.)
  bl tern_client_call
  nop
  ld %r0, 48(%r1)
  ld %r2, 24(%r1)
  ld %r11, 32(%r1)
  ld %r13, 40(%r1)
  addi %r1, %r1, 64
  mtlr %r0
  mtmsrd %r11                          /* back to the caller's mode */
  isync
  blr
  .size tern_client_entry, . - tern_client_entry

/*
 * void tern_enter_client(uint64_t entry, uint64_t r3, uint64_t r4, uint64_t r5, uint64_t stack,
 *                        uint64_t mode32)
 * Jumps to `entry` with r3..r5 as given and r1 = `stack` (16-byte aligned, a 32-byte frame with a
 * zero back chain is made below it), big-endian, real mode. MSR stays 64-bit unless `mode32` is
 * non-zero: a 32-bit client (GRUB's core.elf) is entered with MSR[SF] = 0, through rfid, as SLOF
 * enters it.
 */
  .text
  .globl tern_enter_client
  .type tern_enter_client, @function
tern_enter_client:
  mtctr %r3
  mr %r3, %r4
  mr %r4, %r5
  mr %r5, %r6
  clrrdi %r1, %r7, 4
  li %r0, 0
  stdu %r0, -32(%r1)
  li %r6, 0
  li %r7, 0
  cmpdi %r8, 0
  li %r8, 0
  beq 1f
  mfctr %r9
  mtsrr0 %r9
  mfmsr %r9
  clrldi %r9, %r9, 1                   /* MSR[SF] = 0 from the rfid on */
  mtsrr1 %r9
  li %r9, 0
  rfid
1:
  bctr
  .size tern_enter_client, . - tern_enter_client

  .section .bss.exception_frame, "aw", @nobits
  .balign 8
  .globl tern_exception_frame
tern_exception_frame:
  .space 336
