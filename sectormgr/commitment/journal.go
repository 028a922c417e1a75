package commitment

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// JournalPrefix is where entries of messages between "about to push" and "recorded" live.
const JournalPrefix = "commitment/pending/"

// journalEntry is a message that is about to be pushed, or was pushed and not yet recorded in its
// sectors. The id is the Sender's: pushing it again never sends a second message.
type journalEntry struct {
	ID      string
	Kind    Kind
	Miner   abi.ActorID
	Sectors []abi.SectorNumber
	Message chain.Message
	Spec    journalSpec
	Created time.Time
}

// journalSpec is messager.SendSpec as the journal stores it.
type journalSpec struct {
	MaxFee            abi.TokenAmount
	GasOverEstimation float64
	GasOverPremium    float64
}

func (s journalSpec) sendSpec() messager.SendSpec {
	return messager.SendSpec{MaxFee: s.MaxFee, GasOverEstimation: s.GasOverEstimation, GasOverPremium: s.GasOverPremium}
}

func journalKey(id string) string { return JournalPrefix + id }

func (m *Manager) writeJournal(e *journalEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode journal entry %s: %w", e.ID, err)
	}
	return m.deps.DB.Update(func(tx statedb.Txn) error { return tx.Put(journalKey(e.ID), raw) })
}

func (m *Manager) deleteJournal(id string) error {
	return m.deps.DB.Update(func(tx statedb.Txn) error { return tx.Delete(journalKey(id)) })
}

func (m *Manager) loadJournal() ([]*journalEntry, error) {
	var out []*journalEntry
	err := m.deps.DB.Scan(JournalPrefix, func(key string, value []byte) error {
		var e journalEntry
		if err := json.Unmarshal(value, &e); err != nil {
			return fmt.Errorf("decode journal entry %s: %w", key, err)
		}
		out = append(out, &e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the commitment journal: %w", err)
	}
	return out, nil
}
