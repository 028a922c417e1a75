package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	fbig "github.com/filecoin-project/go-state-types/big"
)

// Duration is a config duration written as a Go duration string ("1m0s", "30s").
type Duration time.Duration

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String prints the Go duration form, the same text MarshalText writes.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. Negative values are refused:
// every duration of this config is an interval or a wait.
func (d *Duration) UnmarshalText(text []byte) error {
	s := string(text)
	td, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a Go duration such as \"30s\", \"3m0s\" or \"1h0m0s\"", s)
	}
	if td < 0 {
		return fmt.Errorf("invalid duration %q: it must not be negative", s)
	}
	*d = Duration(td)
	return nil
}

// filUnit is one of the units a FIL amount may be written in, largest first.
type filUnit struct {
	names  []string // accepted spellings, lower case
	pretty string   // the spelling MarshalText uses
	exp    int      // the unit is 10^exp attoFIL
}

var filUnits = []filUnit{
	{names: []string{"", "fil"}, pretty: "FIL", exp: 18},
	{names: []string{"nanofil", "nfil"}, pretty: "nanoFIL", exp: 9},
	{names: []string{"attofil", "afil"}, pretty: "attoFIL", exp: 0},
}

// FIL is an amount of FIL in the config, written "<decimal> [fil|nanofil|nfil|attofil|afil]"
// (no unit means FIL; the unit is case-insensitive). The empty string means unset, which
// the fee settings read as "no value" (for MaxFee: no limit).
//
// The amount is kept in an unexported field so that the *math/big.Int methods of
// abi.TokenAmount are not promoted: fmt would print those as raw attoFIL.
type FIL struct {
	atto abi.TokenAmount // nil Int means unset
}

// FILFromAtto wraps an amount of attoFIL.
func FILFromAtto(amount abi.TokenAmount) FIL {
	if amount.Int == nil {
		return FIL{}
	}
	return FIL{atto: fbig.NewFromGo(amount.Int)}
}

// NanoFIL returns n nanoFIL.
func NanoFIL(n int64) FIL {
	return FIL{atto: fbig.Mul(fbig.NewInt(n), fbig.NewInt(1_000_000_000))}
}

// IsSet reports whether a value was written ("" is unset).
func (f FIL) IsSet() bool { return f.atto.Int != nil }

// IsZero reports whether the amount is unset or 0.
func (f FIL) IsZero() bool { return f.atto.Int == nil || f.atto.Sign() == 0 }

// TokenAmount returns the amount in attoFIL; unset reads as 0.
func (f FIL) TokenAmount() abi.TokenAmount {
	if f.atto.Int == nil {
		return fbig.Zero()
	}
	return fbig.NewFromGo(f.atto.Int)
}

// String prints the shortest form, e.g. "5 nanoFIL", "1.5 FIL", "0"; unset prints "".
func (f FIL) String() string {
	if f.atto.Int == nil {
		return ""
	}
	n := f.atto.Int
	if n.Sign() == 0 {
		return "0"
	}
	abs := new(big.Int).Abs(n)
	for _, u := range filUnits {
		scale := pow10(u.exp)
		if abs.Cmp(scale) < 0 {
			continue
		}
		sign := ""
		if n.Sign() < 0 {
			sign = "-"
		}
		return sign + formatScaled(abs, scale, u.exp) + " " + u.pretty
	}
	return n.String() + " attoFIL" // unreachable: every non-zero amount is >= 1 attoFIL
}

// formatScaled prints abs/scale exactly, without trailing zeros.
func formatScaled(abs, scale *big.Int, exp int) string {
	q, r := new(big.Int).QuoRem(abs, scale, new(big.Int))
	if r.Sign() == 0 {
		return q.String()
	}
	frac := fmt.Sprintf("%0*s", exp, r.String())
	return q.String() + "." + strings.TrimRight(frac, "0")
}

func pow10(exp int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
}

// MarshalText implements encoding.TextMarshaler. It never returns nil: the TOML
// encoder refuses a nil text.
func (f FIL) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" leaves the amount unset.
func (f *FIL) UnmarshalText(text []byte) error {
	if strings.TrimSpace(string(text)) == "" {
		*f = FIL{}
		return nil
	}
	parsed, err := ParseFIL(string(text))
	if err != nil {
		return err
	}
	*f = parsed
	return nil
}

// ParseFIL parses "<decimal> [unit]", e.g. "5 nanoFIL", "0.5", "100afil".
func ParseFIL(raw string) (FIL, error) {
	s := strings.TrimSpace(raw)
	numEnd := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if numEnd < 0 {
		numEnd = len(s)
	}
	num, unitName := s[:numEnd], strings.ToLower(strings.TrimSpace(s[numEnd:]))
	if strings.HasPrefix(s, "-") {
		return FIL{}, fmt.Errorf("invalid FIL amount %q: it must not be negative", raw)
	}
	unit, ok := lookupFILUnit(unitName)
	if !ok {
		return FIL{}, fmt.Errorf("invalid FIL amount %q: unknown unit %q (use FIL, nanoFIL or attoFIL, e.g. \"5 nanoFIL\")", raw, unitName)
	}
	atto, err := decimalToAtto(num, unit.exp)
	if err != nil {
		return FIL{}, fmt.Errorf("invalid FIL amount %q: %v", raw, err)
	}
	return FIL{atto: fbig.NewFromGo(atto)}, nil
}

func lookupFILUnit(name string) (filUnit, bool) {
	for _, u := range filUnits {
		for _, n := range u.names {
			if n == name {
				return u, true
			}
		}
	}
	return filUnit{}, false
}

// maxFILDigits bounds the number text so that a typo cannot ask for a huge allocation.
const maxFILDigits = 50

// decimalToAtto turns "12.5" in a unit of 10^exp attoFIL into attoFIL, exactly.
func decimalToAtto(num string, exp int) (*big.Int, error) {
	if len(num) > maxFILDigits {
		return nil, fmt.Errorf("the number has more than %d characters", maxFILDigits)
	}
	whole, frac, hasDot := strings.Cut(num, ".")
	if whole == "" && frac == "" {
		return nil, fmt.Errorf("expected a number, e.g. \"5 nanoFIL\"")
	}
	if hasDot && strings.Contains(frac, ".") {
		return nil, fmt.Errorf("the number has more than one '.'")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return nil, fmt.Errorf("it is a fraction of an attoFIL")
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	atto, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("expected a decimal number")
	}
	return atto, nil
}

// MustAddress is a Filecoin address in the config. The empty string means unset;
// the undefined address is refused.
type MustAddress address.Address

// Std returns the address (address.Undef when unset).
func (ma MustAddress) Std() address.Address { return address.Address(ma) }

// IsSet reports whether an address was written.
func (ma MustAddress) IsSet() bool { return address.Address(ma) != address.Undef }

// String prints the address, or "" when unset.
func (ma MustAddress) String() string {
	if !ma.IsSet() {
		return ""
	}
	return address.Address(ma).String()
}

// MarshalText implements encoding.TextMarshaler.
func (ma MustAddress) MarshalText() ([]byte, error) { return []byte(ma.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (ma *MustAddress) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s == "" {
		*ma = MustAddress(address.Undef)
		return nil
	}
	addr, err := address.NewFromString(s)
	if err != nil {
		return fmt.Errorf("invalid address %q: %v", s, err)
	}
	if addr == address.Undef {
		return fmt.Errorf("invalid address %q: it is the undefined address", s)
	}
	*ma = MustAddress(addr)
	return nil
}
