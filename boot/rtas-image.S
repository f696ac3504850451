/* The RTAS image (build/rtas.bin), carried inside the firmware for instantiate-rtas. */
  .section .rodata.rtas_image, "a"
  .balign 8
  .globl tern_rtas_image_start
tern_rtas_image_start:
  .incbin TERN_RTAS_BIN
  .globl tern_rtas_image_end
tern_rtas_image_end:
