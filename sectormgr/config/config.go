// Package config holds the production sector manager's configuration: the TOML layout of
// sector-manager.cfg and ext-prover.cfg (field names are the TOML keys), their defaults,
// loading with strict key checking, validation for `daemon run`, the example files that
// `daemon init` writes, and the live copy that SIGUSR1 reloads.
package config

import (
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

var log = logging.Logger("config")

const (
	// FileName is the manager's config file inside the home or --conf-dir.
	FileName = "sector-manager.cfg"
	// ExtProverFileName is the external prover config file next to it.
	ExtProverFileName = "ext-prover.cfg"
)

// Config is the whole sector-manager.cfg.
type Config struct {
	Common CommonConfig
	Miners []MinerConfig
}

// CommonConfig is the [Common] section: endpoints and stores shared by every miner.
type CommonConfig struct {
	API           APIConfig
	PieceStores   []PieceStoreConfig
	PersistStores []PersistStoreConfig
}

// APIConfig is [Common.API]. Each endpoint is a multiaddr or URL, optionally "<token>:<addr>"
// (see ParseAPIInfo). An empty Market disables deals and /piecestore.
type APIConfig struct {
	Chain              string
	Messager           string
	Market             string
	Gateway            []string
	Token              string
	ChainEventInterval Duration
}

// PieceStoreConfig is one [[Common.PieceStores]]: a read-only store of piece files named <cid>.
type PieceStoreConfig struct {
	Name   string
	Path   string
	Meta   map[string]string
	Plugin string
}

// PersistStoreConfig is one [[Common.PersistStores]]: a store sealed sectors are moved to.
// An empty Name means the absolute Path; Weight 0 counts as 1.
type PersistStoreConfig struct {
	Name        string
	Path        string
	Strict      bool
	ReadOnly    bool
	Weight      uint
	Plugin      string
	AllowMiners []abi.ActorID
	DenyMiners  []abi.ActorID
	Meta        map[string]string
}

// MinerConfig is one [[Miners]] entry.
type MinerConfig struct {
	Actor      abi.ActorID
	Sector     SectorConfig
	SnapUp     SnapUpConfig
	Commitment CommitmentConfig
	PoSt       PoStConfig
	Proof      ProofConfig
}

// SectorConfig is [Miners.Sector]: sector-number allocation and the CC sector lifetime.
type SectorConfig struct {
	InitNumber   uint64
	MinNumber    *uint64
	MaxNumber    *uint64
	Enabled      bool
	EnableDeals  bool
	LifetimeDays uint64
	Verbose      bool
}

// SnapUpConfig is [Miners.SnapUp]. The misspelt ReleaseCondidential is the original key.
type SnapUpConfig struct {
	Enabled  bool
	Sender   MustAddress
	SendFund bool
	FeeConfig
	MessageConfidential abi.ChainEpoch
	ReleaseCondidential abi.ChainEpoch
	Retry               SnapUpRetryConfig
}

// SnapUpRetryConfig is [Miners.SnapUp.Retry]; a nil MaxAttempts means no limit.
type SnapUpRetryConfig struct {
	MaxAttempts      *int
	PollInterval     Duration
	APIFailureWait   Duration
	LocalFailureWait Duration
}

// CommitmentConfig is [Miners.Commitment]; Confidence is the number of epochs before a
// message counts as landed.
type CommitmentConfig struct {
	Confidence int64
	Pre        CommitmentPolicy
	Prove      CommitmentPolicy
	Terminate  CommitmentPolicy
}

// CommitmentPolicy is [Miners.Commitment.Pre|Prove|Terminate]: who sends, and at what fee.
type CommitmentPolicy struct {
	Sender   MustAddress
	SendFund bool
	FeeConfig
	Batch BatchConfig
}

// BatchConfig is the .Batch table of a commitment policy: when to aggregate messages.
type BatchConfig struct {
	Enabled       bool
	Threshold     int
	MaxWait       Duration
	CheckInterval Duration
	FeeConfig
}

// FeeConfig is embedded in several sections; its keys appear flattened there.
// MaxFeeCap is the legacy spelling of GasFeeCap.
type FeeConfig struct {
	GasOverEstimation float64
	GasOverPremium    float64
	MaxFee            FIL
	GasFeeCap         FIL
	MaxFeeCap         FIL
}

// EffectiveGasFeeCap is GasFeeCap, or the legacy MaxFeeCap when GasFeeCap is unset or zero.
func (fc FeeConfig) EffectiveGasFeeCap() FIL {
	if fc.GasFeeCap.IsZero() && !fc.MaxFeeCap.IsZero() {
		return fc.MaxFeeCap
	}
	return fc.GasFeeCap
}

// PoStConfig is [Miners.PoSt]: WindowPoSt, used with `daemon run --poster`.
type PoStConfig struct {
	Sender      MustAddress
	Enabled     bool
	StrictCheck bool
	FeeConfig
	Confidence                      uint64
	ChallengeConfidence             uint64
	MaxPartitionsPerPoStMessage     uint64
	MaxPartitionsPerRecoveryMessage uint64
	// Parallel proves the batches of a deadline (one message each) at the same time instead of
	// one after the other: damocles's key, off by default and left out of the example.
	Parallel bool `toml:",omitempty"`
}

// ProofConfig is [Miners.Proof]: WinningPoSt, used with `daemon run --miner`.
type ProofConfig struct {
	Enabled bool
}

// Miner returns the entry of the given actor.
func (c *Config) Miner(actor abi.ActorID) (MinerConfig, bool) {
	for _, m := range c.Miners {
		if m.Actor == actor {
			return m, true
		}
	}
	return MinerConfig{}, false
}

// DefaultCommonConfig is what a missing [Common] key reads as.
func DefaultCommonConfig() CommonConfig {
	return CommonConfig{
		API: APIConfig{ChainEventInterval: Duration(time.Minute)},
	}
}

// DefaultMinerConfig is what a missing key of a [[Miners]] entry reads as.
func DefaultMinerConfig() MinerConfig {
	return MinerConfig{
		Sector: SectorConfig{
			Enabled:      true,
			LifetimeDays: 540,
		},
		SnapUp: SnapUpConfig{
			SendFund:            true,
			FeeConfig:           defaultFeeConfig(),
			MessageConfidential: 15,
			ReleaseCondidential: 30,
			Retry: SnapUpRetryConfig{
				PollInterval:     Duration(3 * time.Minute),
				APIFailureWait:   Duration(3 * time.Minute),
				LocalFailureWait: Duration(3 * time.Minute),
			},
		},
		Commitment: CommitmentConfig{
			Confidence: 10,
			Pre:        defaultCommitmentPolicy(16),
			Prove:      defaultCommitmentPolicy(16),
			Terminate:  defaultCommitmentPolicy(5),
		},
		PoSt: PoStConfig{
			Enabled:             true,
			StrictCheck:         true,
			FeeConfig:           defaultFeeConfig(),
			Confidence:          10,
			ChallengeConfidence: 10,
		},
	}
}

func defaultCommitmentPolicy(batchThreshold int) CommitmentPolicy {
	return CommitmentPolicy{
		SendFund:  true,
		FeeConfig: defaultFeeConfig(),
		Batch: BatchConfig{
			Threshold:     batchThreshold,
			MaxWait:       Duration(time.Hour),
			CheckInterval: Duration(time.Minute),
			FeeConfig:     defaultFeeConfig(),
		},
	}
}

func defaultFeeConfig() FeeConfig {
	return FeeConfig{
		GasOverEstimation: 1.2,
		GasFeeCap:         NanoFIL(5),
	}
}
