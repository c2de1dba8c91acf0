/* SPDX-License-Identifier: MIT */
/*
 * QR codes of peer configs (peers.md §5): libqrencode in 8-bit mode at error
 * correction level M, a 4-module quiet zone, drawn as a 256x256 grayscale PNG
 * (libpng into memory) or as an SVG path.
 */
#include "qr.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#define QR_QUIET 4              /* modules of white around the symbol */
#define QR_PX 256               /* PNG width and height */
#define QR_BLACK 0
#define QR_WHITE 255

/* The symbol for text: 0, -EINVAL (empty or too long), -ENOMEM. */
static int qr_encode(const char *text, QRcode **out)
{
	QRcode *qr;

	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (!qr)        /* ERANGE: longer than version 40 holds */
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	*out = qr;
	return 0;
}

/* Modules per side, quiet zone included. */
static int qr_total(const QRcode *qr)
{
	return qr->width + 2 * QR_QUIET;
}

/* 1 when module (x, y), counted from the outer edge of the quiet zone, is dark. */
static int qr_dark(const QRcode *qr, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->data[y * qr->width + x] & 1;
}

/* --- PNG ----------------------------------------------------------------- */

struct qr_buf {
	unsigned char *p;
	size_t len, cap;
};

static void qr_png_write(png_structp png, png_bytep data, size_t len)
{
	struct qr_buf *b = png_get_io_ptr(png);
	unsigned char *np;
	size_t cap;

	if (len > b->cap - b->len) {
		cap = b->cap ? b->cap : 4096;
		while (cap - b->len < len)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			png_error(png, "out of memory");
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void qr_png_flush(png_structp png)
{
	(void)png;
}

/* libpng's default handlers print to stderr; ours are silent, as a worker's
 * stderr is the JSON log. Every libpng failure here is a failed allocation. */
static void qr_png_error(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void qr_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Module coordinate of the centre of pixel px (nearest neighbour). */
static int qr_px_module(int px, int total)
{
	return (2 * px + 1) * total / (2 * QR_PX);
}

/* Writes the whole image: 0, or -1 when libpng failed. Its own function so
 * that no local of the caller changes between setjmp and a longjmp. */
static int qr_png_image(png_structp png, png_infop info, const QRcode *qr)
{
	png_byte row[QR_PX];
	int total = qr_total(qr), x, y, my;

	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_IHDR(png, info, QR_PX, QR_PX, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < QR_PX; y++) {
		my = qr_px_module(y, total);
		for (x = 0; x < QR_PX; x++)
			row[x] = qr_dark(qr, qr_px_module(x, total), my) ? QR_BLACK : QR_WHITE;
		png_write_row(png, row);
	}
	png_write_end(png, info);
	return 0;
}

int qr_png(const char *text, unsigned char **png_out, size_t *png_len)
{
	struct qr_buf buf = { 0 };
	png_structp png = NULL;
	png_infop info = NULL;
	QRcode *qr = NULL;
	int ret;

	*png_out = NULL;
	*png_len = 0;
	ret = qr_encode(text, &qr);
	if (ret)
		goto out;
	ret = -ENOMEM;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, qr_png_error, qr_png_warning);
	if (!png)
		goto out;
	info = png_create_info_struct(png);
	if (!info)
		goto out;
	png_set_write_fn(png, &buf, qr_png_write, qr_png_flush);
	if (qr_png_image(png, info, qr))
		goto out;
	*png_out = buf.p;
	*png_len = buf.len;
	buf.p = NULL;
	ret = 0;
out:
	png_destroy_write_struct(&png, &info);
	free(buf.p);
	QRcode_free(qr);
	return ret;
}

/* --- SVG ----------------------------------------------------------------- */

/* One "M x y h n v1 h-n z" rectangle per horizontal run of dark modules. */
static void qr_svg_row(FILE *f, const QRcode *qr, int y)
{
	int total = qr_total(qr), x = 0, run;

	while (x < total) {
		if (!qr_dark(qr, x, y)) {
			x++;
			continue;
		}
		for (run = 0; x + run < total && qr_dark(qr, x + run, y); run++)
			;
		fprintf(f, "M%d %dh%dv1h-%dz", x, y, run, run);
		x += run;
	}
}

int qr_svg(const char *text, char **svg)
{
	QRcode *qr = NULL;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int ret, total, y;

	*svg = NULL;
	ret = qr_encode(text, &qr);
	if (ret)
		goto out;
	ret = -ENOMEM;
	f = open_memstream(&doc, &len);
	if (!f)
		goto out;
	total = qr_total(qr);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	        "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
	        "fill=\"#fff\"/><path fill=\"#000\" d=\"", total, total, total, total);
	for (y = QR_QUIET; y < total - QR_QUIET; y++)
		qr_svg_row(f, qr, y);
	fputs("\"/></svg>\n", f);
	ret = ferror(f) ? -ENOMEM : 0;
	if (fclose(f) != 0)
		ret = -ENOMEM;
	if (ret)
		goto out;
	*svg = doc;
	doc = NULL;
out:
	free(doc);
	QRcode_free(qr);
	return ret;
}
