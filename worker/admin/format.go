package admin

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// FormatThreadLine renders one thread as `venus-worker worker list` prints it, byte for byte the
// original's Rust Debug rendering (spec/worker.md §1.2).
func FormatThreadLine(t api.WorkerThreadInfo) string {
	sector := "None"
	if t.SectorID != nil {
		sector = "Some(" + api.FormatSectorID(*t.SectorID) + ")"
	}
	elapsed := "None"
	if t.PausedElapsed != nil {
		elapsed = "Some(" + rustSeconds(*t.PausedElapsed) + ")"
	}
	lastErr := "None"
	if t.LastError != nil {
		lastErr = "Some(" + RustDebugString(*t.LastError) + ")"
	}
	return fmt.Sprintf("#%d: %s; sector_id=%s, paused=%v, paused_elapsed=%s, state=%s, last_err=%s",
		t.Index, RustDebugString(t.Location), sector, t.Paused, elapsed, t.State, lastErr)
}

// rustSeconds is Rust's Debug of a whole-second Duration: "17s", and "0ns" for zero.
func rustSeconds(secs uint64) string {
	if secs == 0 {
		return "0ns"
	}
	return strconv.FormatUint(secs, 10) + "s"
}

// RustDebugString quotes s the way Rust's {:?} does for str.
func RustDebugString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if unicode.IsPrint(r) || r == ' ' {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, `\u{%x}`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
