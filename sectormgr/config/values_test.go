package config

import (
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/big"
)

func TestDurationText(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1m0s":   time.Minute,
		"30s":    30 * time.Second,
		"1h":     time.Hour,
		"1h0m0s": time.Hour,
		"0s":     0,
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if d.Std() != want {
			t.Errorf("%q = %v, want %v", in, d.Std(), want)
		}
	}
	text, _ := Duration(90 * time.Second).MarshalText()
	if string(text) != "1m30s" {
		t.Errorf("MarshalText = %q, want 1m30s", text)
	}
	for in, want := range map[string]string{
		"5":   `invalid duration "5": write a Go duration such as "30s", "3m0s" or "1h0m0s"`,
		"":    `invalid duration "": write a Go duration such as "30s", "3m0s" or "1h0m0s"`,
		"-1s": `invalid duration "-1s": it must not be negative`,
	} {
		var d Duration
		err := d.UnmarshalText([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: err = %v, want %s", in, err, want)
		}
	}
}

func TestFILParse(t *testing.T) {
	for in, wantAtto := range map[string]string{
		"5 nanoFIL":   "5000000000",
		"5 NANOFIL":   "5000000000",
		"5nfil":       "5000000000",
		"1":           "1000000000000000000",
		"1 FIL":       "1000000000000000000",
		"0.5 fil":     "500000000000000000",
		".25":         "250000000000000000",
		"3.":          "3000000000000000000",
		"100 attofil": "100",
		"7 aFIL":      "7",
		"1.5000 afil": "", // fraction of an attoFIL (checked below)
		"0":           "0",
		"  2 nanofil": "2000000000",
		"1.000000001": "1000000001000000000",
	} {
		f, err := ParseFIL(in)
		if wantAtto == "" {
			if err == nil {
				t.Errorf("%q: want an error", in)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := f.TokenAmount().String(); got != wantAtto {
			t.Errorf("%q = %s attoFIL, want %s", in, got, wantAtto)
		}
	}
}

func TestFILParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"5 mfil":   `invalid FIL amount "5 mfil": unknown unit "mfil" (use FIL, nanoFIL or attoFIL, e.g. "5 nanoFIL")`,
		"abc":      `invalid FIL amount "abc": unknown unit "abc" (use FIL, nanoFIL or attoFIL, e.g. "5 nanoFIL")`,
		"nanofil":  `invalid FIL amount "nanofil": expected a number, e.g. "5 nanoFIL"`,
		"1.5 afil": `invalid FIL amount "1.5 afil": it is a fraction of an attoFIL`,
		"1.2.3":    `invalid FIL amount "1.2.3": the number has more than one '.'`,
		"-1 fil":   `invalid FIL amount "-1 fil": it must not be negative`,
		"1e3":      `invalid FIL amount "1e3": unknown unit "e3" (use FIL, nanoFIL or attoFIL, e.g. "5 nanoFIL")`,
		"111111111111111111111111111111111111111111111111111": `invalid FIL amount "111111111111111111111111111111111111111111111111111": the number has more than 50 characters`,
	} {
		_, err := ParseFIL(in)
		if err == nil || err.Error() != want {
			t.Errorf("%q: err = %v\nwant %s", in, err, want)
		}
	}
}

func TestFILPrint(t *testing.T) {
	for atto, want := range map[string]string{
		"5000000000":          "5 nanoFIL",
		"1000000000000000000": "1 FIL",
		"1500000000000000000": "1.5 FIL",
		"1000000001000000000": "1.000000001 FIL",
		"999999999":           "999999999 attoFIL",
		"1234567890":          "1.23456789 nanoFIL",
		"1":                   "1 attoFIL",
		"0":                   "0",
		"-5000000000":         "-5 nanoFIL",
	} {
		n, err := big.FromString(atto)
		if err != nil {
			t.Fatal(err)
		}
		f := FILFromAtto(n)
		if got := f.String(); got != want {
			t.Errorf("%s attoFIL prints %q, want %q", atto, got, want)
		}
		text, _ := f.MarshalText()
		if string(text) != want {
			t.Errorf("%s attoFIL MarshalText %q, want %q", atto, text, want)
		}
	}
}

func TestFILEmptyIsUnset(t *testing.T) {
	f := NanoFIL(5)
	if err := f.UnmarshalText([]byte("")); err != nil {
		t.Fatal(err)
	}
	if f.IsSet() || !f.IsZero() {
		t.Errorf(`"" should leave the amount unset: IsSet=%v IsZero=%v`, f.IsSet(), f.IsZero())
	}
	text, err := f.MarshalText()
	if err != nil || text == nil || string(text) != "" {
		t.Errorf("unset MarshalText = %q (nil=%v), %v; want a non-nil empty text", text, text == nil, err)
	}
	if got := f.TokenAmount().String(); got != "0" {
		t.Errorf("unset TokenAmount = %s, want 0", got)
	}
	zero, _ := ParseFIL("0")
	if !zero.IsSet() || !zero.IsZero() {
		t.Errorf(`"0" should be set and zero: IsSet=%v IsZero=%v`, zero.IsSet(), zero.IsZero())
	}
}

func TestEffectiveGasFeeCap(t *testing.T) {
	for _, c := range []struct {
		gasFeeCap, maxFeeCap, want string
	}{
		{"5 nanoFIL", "", "5 nanoFIL"},
		{"5 nanoFIL", "7 nanoFIL", "5 nanoFIL"},
		{"", "7 nanoFIL", "7 nanoFIL"},
		{"0", "7 nanoFIL", "7 nanoFIL"},
		{"", "", ""},
	} {
		var fc FeeConfig
		if err := fc.GasFeeCap.UnmarshalText([]byte(c.gasFeeCap)); err != nil {
			t.Fatal(err)
		}
		if err := fc.MaxFeeCap.UnmarshalText([]byte(c.maxFeeCap)); err != nil {
			t.Fatal(err)
		}
		if got := fc.EffectiveGasFeeCap().String(); got != c.want {
			t.Errorf("GasFeeCap %q MaxFeeCap %q: effective %q, want %q", c.gasFeeCap, c.maxFeeCap, got, c.want)
		}
	}
}

func TestMustAddressText(t *testing.T) {
	var ma MustAddress
	if err := ma.UnmarshalText([]byte("t01000")); err != nil {
		t.Fatal(err)
	}
	want, _ := address.NewIDAddress(1000)
	if ma.Std() != want || !ma.IsSet() {
		t.Errorf("t01000 = %v (set %v), want %v", ma.Std(), ma.IsSet(), want)
	}
	if err := ma.UnmarshalText([]byte("t1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")); err != nil {
		t.Fatal(err)
	}
	if ma.Std().Protocol() != address.SECP256K1 {
		t.Errorf("protocol = %d, want secp256k1", ma.Std().Protocol())
	}

	if err := ma.UnmarshalText([]byte("")); err != nil {
		t.Fatal(err)
	}
	if ma.IsSet() || ma.String() != "" {
		t.Errorf(`"" should be unset, got %q`, ma.String())
	}
	text, _ := ma.MarshalText()
	if string(text) != "" {
		t.Errorf("unset MarshalText = %q, want empty", text)
	}

	for in, want := range map[string]string{
		"xyz":     `invalid address "xyz": unknown address network`,
		"<empty>": `invalid address "<empty>": it is the undefined address`,
		"t0":      `invalid address "t0": invalid address length`,
	} {
		err := ma.UnmarshalText([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: err = %v, want %s", in, err, want)
		}
	}
}
