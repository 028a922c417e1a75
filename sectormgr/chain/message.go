package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	cbg "github.com/whyrusleeping/cbor-gen"
)

// MessageVersion is the only message version Filecoin has.
const MessageVersion = 0

// MarshalCBOR writes the message as the chain serialises it: a CBOR array of its ten fields in
// declaration order (what Lotus's cbor-gen code for types.Message writes).
func (m *Message) MarshalCBOR(w io.Writer) error {
	cw := cbg.NewCborWriter(w)
	if err := cw.WriteMajorTypeHeader(cbg.MajArray, 10); err != nil {
		return err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, m.Version); err != nil {
		return err
	}
	if err := m.To.MarshalCBOR(cw); err != nil {
		return err
	}
	if err := m.From.MarshalCBOR(cw); err != nil {
		return err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, m.Nonce); err != nil {
		return err
	}
	if err := m.Value.MarshalCBOR(cw); err != nil {
		return err
	}
	if err := writeInt64(cw, m.GasLimit); err != nil {
		return err
	}
	if err := m.GasFeeCap.MarshalCBOR(cw); err != nil {
		return err
	}
	if err := m.GasPremium.MarshalCBOR(cw); err != nil {
		return err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, uint64(m.Method)); err != nil {
		return err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajByteString, uint64(len(m.Params))); err != nil {
		return err
	}
	_, err := cw.Write(m.Params)
	return err
}

func writeInt64(cw *cbg.CborWriter, v int64) error {
	if v >= 0 {
		return cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, uint64(v))
	}
	return cw.WriteMajorTypeHeader(cbg.MajNegativeInt, uint64(-v-1))
}

// Serialize is the message's chain encoding.
func (m *Message) Serialize() ([]byte, error) {
	var buf bytes.Buffer
	if err := m.MarshalCBOR(&buf); err != nil {
		return nil, fmt.Errorf("serialise message: %w", err)
	}
	return buf.Bytes(), nil
}

// Cid is the message's CID: dag-cbor, blake2b-256 of its serialisation, as the chain names it.
func (m *Message) Cid() (cid.Cid, error) {
	raw, err := m.Serialize()
	if err != nil {
		return cid.Undef, err
	}
	return blockCid(raw)
}

// MarshalCBOR writes the signed message as the chain does: [message, signature].
func (sm *SignedMessage) MarshalCBOR(w io.Writer) error {
	cw := cbg.NewCborWriter(w)
	if err := cw.WriteMajorTypeHeader(cbg.MajArray, 2); err != nil {
		return err
	}
	if err := sm.Message.MarshalCBOR(cw); err != nil {
		return err
	}
	return sm.Signature.MarshalCBOR(cw)
}

// Cid is the CID the chain knows the message by: a BLS-signed message is known by its unsigned
// CID (the signature is aggregated into the block), any other by the CID of [message, signature].
func (sm *SignedMessage) Cid() (cid.Cid, error) {
	if sm.Signature.Type == crypto.SigTypeBLS {
		return sm.Message.Cid()
	}
	var buf bytes.Buffer
	if err := sm.MarshalCBOR(&buf); err != nil {
		return cid.Undef, fmt.Errorf("serialise signed message: %w", err)
	}
	return blockCid(buf.Bytes())
}

func blockCid(raw []byte) (cid.Cid, error) {
	return cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.BLAKE2B_MIN + 31}.Sum(raw)
}

// rawMessage has Message's fields without its MarshalJSON, so the JSON methods can add "CID".
type rawMessage Message

// MarshalJSON writes the message's fields and its "CID", as Lotus does.
func (m *Message) MarshalJSON() ([]byte, error) {
	c, err := m.Cid()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		*rawMessage
		CID cid.Cid
	}{(*rawMessage)(m), c})
}

// UnmarshalJSON reads the fields and ignores "CID", which the fields determine.
func (m *Message) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, (*rawMessage)(m))
}

type rawSignedMessage SignedMessage

// MarshalJSON writes {"Message","Signature","CID"}, as Lotus does.
func (sm *SignedMessage) MarshalJSON() ([]byte, error) {
	c, err := sm.Cid()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		*rawSignedMessage
		CID cid.Cid
	}{(*rawSignedMessage)(sm), c})
}

// UnmarshalJSON reads the message and signature and ignores "CID".
func (sm *SignedMessage) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, (*rawSignedMessage)(sm))
}
