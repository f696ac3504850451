/*
 * Head and entry of the RTAS image (rtas.bin), which instantiate-rtas copies into the RTAS area.
 * Position-independent: it finds itself with bcl and computes its TOC from that.
 *
 * Entry [LoPAPR 7.2.1, Linux enter_rtas]: r3 = argument block (real address), r4 = RTAS base,
 * LR = return address; real mode, big-endian, 32-bit mode, external interrupts off. tern:
 *  - switches to 64-bit mode, and restores the caller's MSR before returning;
 *  - serializes entries: a CPU finding the lock held waits; the lock holder entering again (an NMI
 *    or machine check during a call) gets -1 (hardware error) and nothing runs. The holder is
 *    known by PIR + 1 where the hypervisor gives each vCPU its own PIR; QEMU 7.2 under TCG reads
 *    PIR 0 on every vCPU, so there a waiter gives up with -1 after the configured timeout instead;
 *  - stop-self, which never returns, is forwarded at once without the lock or the stack;
 *  - runs on its own stack inside the area; preserves r1, r2, r13-r31, LR and never touches
 *    SPRG0-3 (Linux keeps its PACA in SPRG1);
 *  - calls tern_rtas_call(block, image address) (rtas/runtime.cc); the status is in the block.
 */
#define PIR 1023
#define TB 268
#define IMAGE_CONFIG_RAM_TOP 8   /* offsetof(ImageConfig, ram_top) */
#define IMAGE_CONFIG_STOP_SELF 36  /* offsetof(ImageConfig, stop_self_token) */
#define IMAGE_CONFIG_LOCK_TIMEOUT 296  /* offsetof(ImageConfig, lock_timeout) */

  .section .head, "ax"
  .globl tern_rtas_image
tern_rtas_image:
  .ascii "TERNRTAS"
  .long 1                                    /* ImageHeader.version */
  .long tern_rtas_entry - tern_rtas_image
  .long .TOC. - tern_rtas_image
  .long __rtas_file_end - tern_rtas_image
  .long __rtas_memory_end - tern_rtas_image
  .long __rtas_rela_start - tern_rtas_image
  .long __rtas_rela_end - tern_rtas_image
  .long tern_rtas_config - tern_rtas_image

  .balign 8
  .globl tern_rtas_config
tern_rtas_config:                            /* ImageConfig, filled in at instantiation */
  .space 8 + 8 + 8 + 4 + 4 + 4 + 4 + 4 * 64 + 8 + 8

  .balign 8
tern_rtas_lock:                              /* 0, or the holder's PIR + 1 */
  .long 0
  .long 0

  .balign 16
  .globl tern_rtas_entry
tern_rtas_entry:
  mflr %r0                                   /* return address */
  mfmsr %r11                                 /* caller's MSR */
  li %r12, 1
  sldi %r12, %r12, 63
  or %r12, %r12, %r11
  mtmsrd %r12                                /* MSR[SF] = 1 */
  isync
  clrldi %r3, %r3, 32
  bcl 20, 31, 1f
1:mflr %r10
  addis %r10, %r10, (tern_rtas_image - 1b)@ha
  addi %r10, %r10, (tern_rtas_image - 1b)@l  /* r10 = the image's address */
  /* stop-self: straight to the host, holding nothing (the CPU stops inside the hcall). */
  ld %r6, (tern_rtas_config - tern_rtas_image + IMAGE_CONFIG_RAM_TOP)(%r10)
  addi %r5, %r3, 4
  cmpld %r5, %r6
  bgt 6f
  lwz %r7, 0(%r3)
  lwz %r6, (tern_rtas_config - tern_rtas_image + IMAGE_CONFIG_STOP_SELF)(%r10)
  cmpwi %r6, 0
  beq 6f
  cmpw %r7, %r6
  bne 6f
  std %r0, 16(%r1)                           /* the caller's LR save slot [ELFv2] */
  bl tern_hcall_rtas_leaf                    /* returns only if the host refused */
  ld %r0, 16(%r1)
  b 5f
6:addi %r9, %r10, tern_rtas_lock - tern_rtas_image
  mfspr %r8, PIR
  addi %r8, %r8, 1
  li %r6, 0                                  /* time base when the wait began */
2:lwarx %r7, 0, %r9
  cmpwi %r7, 0
  beq 4f
  cmpwi %r8, 1                               /* PIR 0 may be any vCPU (QEMU 7.2 TCG) */
  beq 3f
  cmpw %r7, %r8
  beq reentered
3:cmpdi %r6, 0
  bne 7f
  mfspr %r6, TB
7:mfspr %r5, TB
  subf %r5, %r6, %r5
  ld %r12, (tern_rtas_config - tern_rtas_image + IMAGE_CONFIG_LOCK_TIMEOUT)(%r10)
  cmpld %r5, %r12
  bgt reentered                              /* waited too long: -1 */
  or 1, 1, 1                                 /* wait at low priority */
  lwz %r7, 0(%r9)
  cmpwi %r7, 0
  bne 3b
  or 2, 2, 2
  b 2b
4:stwcx. %r8, 0, %r9
  bne- 2b
  isync

  mr %r7, %r1
  addis %r1, %r10, (__rtas_stack_top - tern_rtas_image)@ha
  addi %r1, %r1, (__rtas_stack_top - tern_rtas_image)@l
  li %r6, 0
  stdu %r6, -112(%r1)                        /* frame with a zero back chain */
  std %r7, 32(%r1)
  std %r2, 40(%r1)
  std %r0, 48(%r1)
  std %r11, 56(%r1)
  std %r9, 64(%r1)
  std %r13, 72(%r1)
  addis %r2, %r10, (.TOC. - tern_rtas_image)@ha
  addi %r2, %r2, (.TOC. - tern_rtas_image)@l
  mr %r4, %r10
  bl tern_rtas_call
  nop
  ld %r9, 64(%r1)
  lwsync
  li %r0, 0
  stw %r0, 0(%r9)                            /* release the lock */
  ld %r13, 72(%r1)
  ld %r11, 56(%r1)
  ld %r0, 48(%r1)
  ld %r2, 40(%r1)
  ld %r1, 32(%r1)
  mtlr %r0
  mtmsrd %r11
  isync
  blr

/* The lock holder entered again: -1 in rets[0] when the block is in RAM and well formed. */
reentered:
  ld %r6, (tern_rtas_config - tern_rtas_image + IMAGE_CONFIG_RAM_TOP)(%r10)
  addi %r5, %r3, 12 + 4 * 16                 /* the largest block ends here */
  cmpld %r5, %r6
  bgt 5f
  lwz %r7, 4(%r3)                            /* nargs */
  lwz %r8, 8(%r3)                            /* nret */
  cmplwi %r7, 15
  bgt 5f
  cmplwi %r8, 0
  beq 5f
  slwi %r7, %r7, 2
  add %r7, %r7, %r3
  li %r6, -1
  stw %r6, 12(%r7)
5:mtlr %r0
  mtmsrd %r11
  isync
  blr
