package simchain

import (
	"bytes"
	"context"
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// Gas, as the node estimates it when a message leaves the fields zero.
var (
	baseFee = big.NewInt(100)
	// defaultGasPremium and defaultGasFeeCap are the estimates for zero fields.
	defaultGasPremium = big.NewInt(100_000)
	defaultGasFeeCap  = big.Add(defaultGasPremium, big.Mul(baseFee, big.NewInt(2)))
	// defaultMaxFee is Lotus's default cap on a message's fee (0.07 FIL).
	defaultMaxFee = big.NewInt(70_000_000_000_000_000)
)

// estimateGasLimit grows with the params, as real miner methods cost more for bigger batches.
func estimateGasLimit(m *chain.Message) int64 {
	return 10_000_000 + 1_000*int64(len(m.Params))
}

// MpoolPushMessage assigns the nonce, estimates the gas fields left zero, caps the fee at
// spec.MaxFee, signs with the wallet key of From (an ID address is replaced by its key, as Lotus
// does) and adds the message to the pool. A spec.MsgUuid that was pushed before returns that
// first signed message and pushes nothing. The signature is a fake of From's key type: a BLS
// message's CID is its unsigned CID, a secp256k1 message's is the CID of the signed message.
func (c *Chain) MpoolPushMessage(ctx context.Context, msg *chain.Message, spec *chain.MessageSendSpec) (*chain.SignedMessage, error) {
	if err := c.enter("MpoolPushMessage"); err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, fmt.Errorf("MpoolPushMessage: no message")
	}
	if msg.To == address.Undef {
		return nil, fmt.Errorf("message from %s failed sanity check: invalid 'To' address", msg.From)
	}
	m := *msg
	m.Params = bytes.Clone(msg.Params)
	id := uuid.New()
	var maxFee abi.TokenAmount
	maximize := false
	if spec != nil {
		maxFee, maximize = spec.MaxFee, spec.MaximizeFeeCap
		if spec.MsgUuid != (uuid.UUID{}) {
			id = spec.MsgUuid
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.st.byUuid[id]; p != nil {
		log.Warnw("message already processed", "cid", p.cid, "uuid", id)
		signed := p.signed
		signed.Message.Params = bytes.Clone(signed.Message.Params)
		return &signed, nil
	}
	from, err := c.keyAddressLocked(m.From)
	if err != nil {
		return nil, fmt.Errorf("getting key address: %w", err)
	}
	if m.Nonce != 0 {
		return nil, fmt.Errorf("MpoolPushMessage expects message nonce to be 0, was %d", m.Nonce)
	}
	if _, ok := c.st.keyToID[from]; !ok {
		return nil, fmt.Errorf("failed to sign message: signing using key '%s': key info not found, addr=%s", from, from)
	}
	m.From = from
	estimateGas(&m, maxFee, maximize)
	m.Nonce = c.st.nonces[from]

	signed := chain.SignedMessage{Message: m, Signature: fakeSignature(from)}
	p, err := newPushed(signed, id)
	if err != nil {
		return nil, err
	}
	c.st.nonces[from] = m.Nonce + 1
	c.st.addPushedLocked(p)
	// Like Lotus, a failure to store after the push returns an error with the message in the
	// pool; a retry with the same MsgUuid gets the message back.
	if err := c.saveLocked(); err != nil {
		return nil, err
	}
	out := p.signed
	out.Message.Params = bytes.Clone(out.Message.Params)
	return &out, nil
}

func newPushed(signed chain.SignedMessage, id uuid.UUID) (*pushed, error) {
	sc, err := signed.Cid()
	if err != nil {
		return nil, err
	}
	mc, err := signed.Message.Cid()
	if err != nil {
		return nil, err
	}
	return &pushed{signed: signed, cid: sc, msgCid: mc, uuid: id}, nil
}

// keyAddressLocked resolves a sender as Lotus's ResolveToDeterministicAddress does.
func (c *Chain) keyAddressLocked(a address.Address) (address.Address, error) {
	switch a.Protocol() {
	case address.SECP256K1, address.BLS, address.Delegated:
		return a, nil
	case address.ID:
		id, err := address.IDFromAddress(a)
		if err == nil {
			if key, ok := c.st.idToKey[abi.ActorID(id)]; ok {
				return key, nil
			}
		}
		return address.Undef, fmt.Errorf("failed to find actor: %s", a)
	default:
		return address.Undef, fmt.Errorf("cannot resolve actor address to key address")
	}
}

// estimateGas fills the zero gas fields and caps the fee as Lotus's GasEstimateMessageGas and
// CapGasFee do.
func estimateGas(m *chain.Message, maxFee abi.TokenAmount, maximize bool) {
	if m.Value.Nil() {
		m.Value = big.Zero()
	}
	if m.GasLimit == 0 {
		m.GasLimit = estimateGasLimit(m)
	}
	if m.GasPremium.Nil() || m.GasPremium.IsZero() {
		m.GasPremium = defaultGasPremium
	}
	if m.GasFeeCap.Nil() || m.GasFeeCap.IsZero() {
		m.GasFeeCap = defaultGasFeeCap
	}
	if maxFee.Nil() || maxFee.IsZero() {
		maxFee = defaultMaxFee
	}
	limit := big.NewInt(m.GasLimit)
	if maximize || big.Mul(m.GasFeeCap, limit).GreaterThan(maxFee) {
		m.GasFeeCap = big.Div(maxFee, limit)
	}
	m.GasPremium = big.Min(m.GasFeeCap, m.GasPremium)
}

func fakeSignature(from address.Address) crypto.Signature {
	if from.Protocol() == address.BLS {
		return crypto.Signature{Type: crypto.SigTypeBLS, Data: keyBytes("signature", 0, 0, 96)}
	}
	return crypto.Signature{Type: crypto.SigTypeSecp256k1, Data: keyBytes("signature", 0, 0, 65)}
}

// includeLocked puts a message in the tipset of height h and records its receipt.
func (c *Chain) includeLocked(p *pushed, h abi.ChainEpoch, o Outcome) {
	msg := &p.signed.Message
	gasUsed := msg.GasLimit * 8 / 10
	switch o.kind {
	case outcomeOutOfGas:
		p.receipt = chain.MessageReceipt{ExitCode: exitcode.SysErrOutOfGas, GasUsed: msg.GasLimit}
		p.reason = "out of gas (SetOutcome)"
	case outcomeExit:
		p.receipt = chain.MessageReceipt{ExitCode: o.code, GasUsed: gasUsed}
		p.reason = fmt.Sprintf("exit %d (SetOutcome)", o.code)
	default:
		code, ret, reason := c.applyLocked(msg, h)
		p.receipt = chain.MessageReceipt{ExitCode: code, Return: ret, GasUsed: gasUsed}
		p.reason = reason
	}
	p.included = h
	if p.receipt.ExitCode != exitcode.Ok {
		log.Warnw("message failed", "cid", p.cid, "to", msg.To, "method", msg.Method, "height", h,
			"exit", p.receipt.ExitCode, "reason", p.reason)
	} else {
		log.Debugw("message executed", "cid", p.cid, "to", msg.To, "method", msg.Method, "height", h)
	}
}

func (c *Chain) lookupLocked(p *pushed, withReturn bool) *chain.MsgLookup {
	l := &chain.MsgLookup{
		Message: p.cid,
		Receipt: p.receipt,
		TipSet:  c.keyAt(p.included),
		Height:  p.included,
	}
	l.Receipt.Return = bytes.Clone(p.receipt.Return)
	if withReturn && p.receipt.ExitCode == exitcode.Ok && len(p.receipt.Return) > 0 {
		l.ReturnDec = decodeReturn(&p.signed.Message, p.receipt.Return)
	}
	return l
}

// decodeReturn is the decoded return of the methods that have one, as StateWaitMsg's ReturnDec.
func decodeReturn(m *chain.Message, ret []byte) any {
	if m.Method == methodProveCommitSectors3 {
		var out miner.ProveCommitSectors3Return
		if err := out.UnmarshalCBOR(bytes.NewReader(ret)); err == nil {
			return &out
		}
	}
	return ret
}

// StateSearchMsg looks for an executed message from the tipset back at most limit epochs
// (limit -1: no limit). It is nil and no error while the message is pending or unknown.
func (c *Chain) StateSearchMsg(ctx context.Context, from chain.TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*chain.MsgLookup, error) {
	if err := c.enter("StateSearchMsg"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.heightOfLocked(from)
	if err != nil {
		return nil, err
	}
	p := c.st.byCid[msg]
	if p == nil || p.included == 0 || p.included > h || (limit >= 0 && h-p.included > limit) {
		return nil, nil
	}
	return c.lookupLocked(p, false), nil
}

// StateWaitMsg waits until the message is executed and confidence epochs deep, then returns
// its lookup with ReturnDec. As in Lotus, a message executed more than limit epochs before the
// head when the call starts (limit -1: no limit) is not found, and the call waits for a new
// execution that never comes; an unknown message is waited for too. ctx bounds the wait.
func (c *Chain) StateWaitMsg(ctx context.Context, msg cid.Cid, confidence uint64, limit abi.ChainEpoch, allowReplaced bool) (*chain.MsgLookup, error) {
	if err := c.enter("StateWaitMsg"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	startHead := c.st.head
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if err := c.usableLocked(); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		p, ch := c.st.byCid[msg], c.headCh
		if p != nil && p.included != 0 && (limit < 0 || p.included > startHead || startHead-p.included <= limit) {
			if c.st.head >= p.included+abi.ChainEpoch(confidence) {
				l := c.lookupLocked(p, true)
				c.mu.Unlock()
				return l, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.life.Done():
			return nil, ErrClosed
		}
	}
}
