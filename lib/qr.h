/* SPDX-License-Identifier: MIT */
/* QR codes as PNG (peers.md §5). */
#ifndef WGP_QR_H
#define WGP_QR_H

#include <stddef.h>

/* Encodes text (8-bit, ECLEVEL_M, 4-module quiet zone) as an 8-bit grayscale
 * PNG of exactly 256x256 pixels. *png is malloc'd (caller frees).
 * 0, -EINVAL (text too long for a QR code), -ENOMEM. */
int qr_png(const char *text, unsigned char **png, size_t *png_len);
/* The same code as a compact SVG document (malloc'd NUL-terminated string). */
int qr_svg(const char *text, char **svg);

#endif
