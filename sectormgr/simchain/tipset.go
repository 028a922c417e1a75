package simchain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// blockMiner is the miner named in every block header. It is not an actor of the chain.
var blockMiner, _ = address.NewIDAddress(1000)

// A block's CID is a real-looking dag-cbor/blake2b-256 CID whose digest starts with the height,
// so a tipset key can be resolved without remembering every block.
const cidHeightBytes = 8

var blake2b256 = uint64(multihash.BLAKE2B_MIN + 31)

func (c *Chain) fakeCid(kind string, h abi.ChainEpoch) cid.Cid {
	digest := make([]byte, 0, 32)
	digest = binary.BigEndian.AppendUint64(digest, uint64(h))
	digest = append(digest, c.hash(c.onFork("cid/"+kind, h), h, nil)[:32-cidHeightBytes]...)
	mh, err := multihash.Encode(digest, blake2b256)
	if err != nil {
		panic(err) // a 32-byte digest always encodes
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

func (c *Chain) blockCid(h abi.ChainEpoch) cid.Cid { return c.fakeCid("block", h) }

func (c *Chain) keyAt(h abi.ChainEpoch) chain.TipSetKey { return chain.TipSetKey{c.blockCid(h)} }

var errTipSetNotFound = errors.New("tipset not found")

func tskString(k chain.TipSetKey) string {
	s := make([]string, len(k))
	for i, c := range k {
		s[i] = c.String()
	}
	return "{" + strings.Join(s, ",") + "}"
}

// heightOfLocked resolves a tipset key: the empty key is the head, any other must name a
// tipset of this chain.
func (c *Chain) heightOfLocked(tsk chain.TipSetKey) (abi.ChainEpoch, error) {
	if len(tsk) == 0 {
		return c.st.head, nil
	}
	notFound := fmt.Errorf("loading tipset %s: %w", tskString(tsk), errTipSetNotFound)
	if len(tsk) != 1 {
		return 0, notFound
	}
	dec, err := multihash.Decode(tsk[0].Hash())
	if err != nil || tsk[0].Prefix().Codec != cid.DagCBOR || dec.Code != blake2b256 || len(dec.Digest) != 32 {
		return 0, notFound
	}
	h := abi.ChainEpoch(binary.BigEndian.Uint64(dec.Digest[:cidHeightBytes]))
	if h < 0 || h > c.st.head || !c.blockCid(h).Equals(tsk[0]) {
		return 0, notFound
	}
	return h, nil
}

// hash is the chain's one source of pseudo-randomness: SHA-256 over the seed, a label, an
// epoch and extra bytes, each length-prefixed so no two inputs collide.
func (c *Chain) hash(label string, h abi.ChainEpoch, extra []byte) []byte {
	w := sha256.New()
	for _, part := range [][]byte{[]byte("venus-cluster-go/simchain/v1"), c.st.seed, []byte(label), binary.BigEndian.AppendUint64(nil, uint64(h)), extra} {
		w.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		w.Write(part)
	}
	return w.Sum(nil)
}

func (c *Chain) fakeBytes(label string, h abi.ChainEpoch, n int) []byte {
	label = c.onFork(label, h)
	out := make([]byte, 0, n+sha256.Size)
	for i := uint64(0); len(out) < n; i++ {
		out = append(out, c.hash(label, h, binary.BigEndian.AppendUint64(nil, i))...)
	}
	return out[:n]
}

// randomness is 32 bytes fixed by the chain seed, the kind (tickets or beacon), the tag, the
// epoch and the entropy.
func (c *Chain) randomness(kind string, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte) abi.Randomness {
	var extra bytes.Buffer
	extra.Write(binary.BigEndian.AppendUint64(nil, uint64(dst)))
	extra.Write(entropy)
	return c.hash("randomness/"+kind, epoch, extra.Bytes())
}

func (c *Chain) ticketRandomness(dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte) abi.Randomness {
	return c.randomness(c.onFork("tickets", epoch), dst, epoch, entropy)
}

// onFork is label on the original chain, and a label of its own on each fork (Reorg) that
// replaced the tipset of height h: the tipsets of a fork have other CIDs and tickets, while the
// beacon, which does not come from the chain, stays the same. Chain.mu must be held.
func (c *Chain) onFork(label string, h abi.ChainEpoch) string {
	fork := 0
	for _, at := range c.st.forks {
		if at < h {
			fork++
		}
	}
	if fork == 0 {
		return label
	}
	return label + "@fork" + strconv.Itoa(fork)
}

func (c *Chain) beaconRandomness(dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte) abi.Randomness {
	return c.randomness("beacon", dst, epoch, entropy)
}

// tipSetAt builds the tipset of height h: one block whose fields have Lotus's shapes and
// values fixed by the seed, the height and the fork (Chain.mu held).
func (c *Chain) tipSetAt(h abi.ChainEpoch) *chain.TipSet {
	parents := []cid.Cid{}
	if h > 0 {
		parents = []cid.Cid{c.blockCid(h - 1)}
	}
	bls := func(label string) *crypto.Signature {
		return &crypto.Signature{Type: crypto.SigTypeBLS, Data: c.fakeBytes(label, h, 96)}
	}
	block := chain.BlockHeader{
		Miner:         blockMiner,
		Ticket:        &chain.Ticket{VRFProof: c.fakeBytes("ticket", h, 96)},
		ElectionProof: &chain.ElectionProof{WinCount: 1, VRFProof: c.fakeBytes("election", h, 96)},
		BeaconEntries: []chain.BeaconEntry{{Round: uint64(h) + 1, Data: c.fakeBytes("beacon", h, 96)}},
		WinPoStProof: []chain.PoStProof{{
			PoStProof:  abi.RegisteredPoStProof_StackedDrgWinning32GiBV1,
			ProofBytes: c.fakeBytes("winpost", h, 192),
		}},
		Parents:               parents,
		ParentWeight:          big.NewInt(int64(h) * 1000),
		Height:                h,
		ParentStateRoot:       c.fakeCid("state", h),
		ParentMessageReceipts: c.fakeCid("receipts", h),
		Messages:              c.fakeCid("messages", h),
		BLSAggregate:          bls("bls-aggregate"),
		Timestamp:             c.opts.GenesisTimestamp + uint64(h)*c.opts.BlockDelaySecs,
		BlockSig:              bls("block-sig"),
		ForkSignaling:         0,
		ParentBaseFee:         baseFee,
	}
	return &chain.TipSet{Cids: []cid.Cid{c.blockCid(h)}, Blocks: []chain.BlockHeader{block}, Height: h}
}
