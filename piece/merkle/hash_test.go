package merkle

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func referenceLayer(src []byte) []byte {
	var out []byte
	for i := 0; i < len(src); i += 64 {
		h := sha256.Sum256(src[i : i+64])
		h[31] &= 0x3f
		out = append(out, h[:]...)
	}
	return out
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHashLayerMatchesSHA256Trunc254(t *testing.T) {
	t.Logf("SHA extensions in use: %v", useSHANI)
	impls := map[string]func(dst, src []byte){"HashLayer": HashLayer, "generic": hashLayerGeneric}
	// Odd pair counts leave a pair to the generic code after the two-at-a-time one.
	for _, nodes := range []int{2, 4, 6, 8, 14, 64, 130} {
		src := randomBytes(t, nodes*NodeSize)
		want := referenceLayer(src)
		for name, hash := range impls {
			dst := make([]byte, len(src)/2)
			hash(dst, src)
			if !bytes.Equal(dst, want) {
				t.Fatalf("%s, %d nodes: layer differs from sha256-trunc254", name, nodes)
			}
			inPlace := bytes.Clone(src)
			hash(inPlace, inPlace)
			if !bytes.Equal(inPlace[:len(src)/2], want) {
				t.Fatalf("%s, %d nodes: layer hashed in place differs", name, nodes)
			}
		}
	}
}

func TestParent(t *testing.T) {
	l, r := Node(randomBytes(t, 32)), Node(randomBytes(t, 32))
	want := sha256.Sum256(append(l[:], r[:]...))
	want[31] &= 0x3f
	if got := Parent(l, r); got != want {
		t.Fatalf("Parent = %x, want %x", got, want)
	}
}

func TestRootMatchesLayerByLayer(t *testing.T) {
	data := randomBytes(t, 256*NodeSize)
	layer := data
	for len(layer) > NodeSize {
		layer = referenceLayer(layer)
	}
	before := bytes.Clone(data)
	if got := Root(data, make([]byte, len(data)/2)); got != Node(layer) {
		t.Fatalf("Root = %x, want %x", got, layer)
	}
	if !bytes.Equal(data, before) {
		t.Fatal("Root changed its leaves")
	}
	if got := Root(data[:NodeSize], nil); got != Node(data[:NodeSize]) {
		t.Fatal("the root of one leaf is not the leaf")
	}
}

func TestZeroNodeIsTheRootOfZeros(t *testing.T) {
	for h := 0; h <= 10; h++ {
		zeros := make([]byte, NodeSize<<h)
		if got := Root(zeros, make([]byte, len(zeros)/2)); got != ZeroNode(h) {
			t.Fatalf("ZeroNode(%d) = %x, root of zeros %x", h, ZeroNode(h), got)
		}
	}
}
