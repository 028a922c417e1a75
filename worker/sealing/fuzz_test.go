package sealing

import (
	"encoding/json"
	"testing"
)

// FuzzParseState: only the exact state names (and the Abort alias) parse, and every name a state
// prints parses back to it.
func FuzzParseState(f *testing.F) {
	for _, n := range stateNames {
		f.Add(n)
	}
	f.Add("Abort")
	f.Add("aborted")
	f.Add("")
	f.Fuzz(func(t *testing.T, name string) {
		s, err := ParseState(name)
		if err != nil {
			if err.Error() != "invalid state "+name {
				t.Fatalf("error %q", err)
			}
			return
		}
		if s.String() != name && !(name == "Abort" && s == Aborted) {
			t.Fatalf("ParseState(%q) = %v", name, s)
		}
	})
}

// FuzzRecordDecode: a damaged job record is an error, never a panic.
func FuzzRecordDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"plan":"sealer","state":6,"prev_state":5,"retry":0,"base":{"allocated":{"ID":{"Miner":10000,"Number":1},"ProofType":5},"prove_input":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],1]},"deals":null,"finalized":null,"phases":{"pieces":null}}`))
	f.Add([]byte(`{"state":99}`))
	f.Add([]byte(`{"base":{"prove_input":[1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if err := json.Unmarshal(data, &r); err == nil && int(r.State) >= len(stateNames) {
			t.Fatalf("accepted unknown state %d", r.State)
		}
	})
}
