package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// compareChunk is how much of each file a comparison reads between two checks of its context.
const compareChunk = 1 << 20

// Existing is what a transfer finds at its destination before it writes there.
type Existing int

const (
	// NoFile: nothing is at the destination, or nothing that stat can reach.
	NoFile Existing = iota
	// SameContent: the destination already holds the source's bytes.
	SameContent
	// PartialContent: the destination holds the start of the source's bytes and nothing else, as a
	// copy written in place and interrupted leaves it.
	PartialContent
	// OtherContent: the destination holds something else.
	OtherContent
)

// CompareExisting says how the file at dst relates to the regular file src that is about to be
// put there. Sizes are compared first, so another sector's file of a different size costs one
// stat; otherwise the bytes are compared, checking ctx between chunks.
func CompareExisting(ctx context.Context, src, dst string) (Existing, error) {
	srcInfo, err := os.Stat(src)
	if err != nil {
		return 0, fmt.Errorf("source %q: %w", src, err)
	}
	dstInfo, err := os.Stat(dst)
	if err != nil {
		// Nothing readable is there to lose; the transfer stats the path again and reports any
		// error other than "not there" with its route.
		return NoFile, nil
	}
	if os.SameFile(srcInfo, dstInfo) {
		return SameContent, nil
	}
	if !dstInfo.Mode().IsRegular() || dstInfo.Size() > srcInfo.Size() {
		return OtherContent, nil
	}
	same, err := samePrefix(ctx, src, dst, dstInfo.Size())
	switch {
	case err != nil:
		return 0, err
	case !same:
		return OtherContent, nil
	case dstInfo.Size() == srcInfo.Size():
		return SameContent, nil
	default:
		return PartialContent, nil
	}
}

// samePrefix reports whether the first n bytes of the files a and b are equal.
func samePrefix(ctx context.Context, a, b string, n int64) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	bufA, bufB := make([]byte, compareChunk), make([]byte, compareChunk)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		size := min(n, compareChunk)
		if _, err := io.ReadFull(fa, bufA[:size]); err != nil {
			return false, fmt.Errorf("read %q: %w", a, err)
		}
		if _, err := io.ReadFull(fb, bufB[:size]); err != nil {
			return false, fmt.Errorf("read %q: %w", b, err)
		}
		if !bytes.Equal(bufA[:size], bufB[:size]) {
			return false, nil
		}
		n -= size
	}
	return true, nil
}
