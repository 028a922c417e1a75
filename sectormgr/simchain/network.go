package simchain

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// upgrades are Lotus's ForkUpgradeParams fields in Lotus's order, with the network version
// each one starts (chain/consensus/filcns/upgrades.go).
var upgrades = []struct {
	name string
	nv   network.Version
}{
	{"UpgradeSmokeHeight", network.Version2},
	{"UpgradeBreezeHeight", network.Version1},
	{"UpgradeIgnitionHeight", network.Version3},
	{"UpgradeLiftoffHeight", network.Version5},
	{"UpgradeAssemblyHeight", network.Version4},
	{"UpgradeRefuelHeight", network.Version3},
	{"UpgradeTapeHeight", network.Version5},
	{"UpgradeKumquatHeight", network.Version6},
	{"BreezeGasTampingDuration", 0},
	{"UpgradeCalicoHeight", network.Version7},
	{"UpgradePersianHeight", network.Version8},
	{"UpgradeOrangeHeight", network.Version9},
	{"UpgradeClausHeight", network.Version9},
	{"UpgradeTrustHeight", network.Version10},
	{"UpgradeNorwegianHeight", network.Version11},
	{"UpgradeTurboHeight", network.Version12},
	{"UpgradeHyperdriveHeight", network.Version13},
	{"UpgradeChocolateHeight", network.Version14},
	{"UpgradeOhSnapHeight", network.Version15},
	{"UpgradeSkyrHeight", network.Version16},
	{"UpgradeSharkHeight", network.Version17},
	{"UpgradeHyggeHeight", network.Version18},
	{"UpgradeLightningHeight", network.Version19},
	{"UpgradeThunderHeight", network.Version20},
	{"UpgradeWatermelonHeight", network.Version21},
	{"UpgradeDragonHeight", network.Version22},
	{"UpgradePhoenixHeight", network.Version22},
	{"UpgradeWaffleHeight", network.Version23},
	{"UpgradeTuktukHeight", network.Version24},
	{"UpgradeTeepHeight", network.Version25},
	{"UpgradeTockHeight", network.Version26},
	{"UpgradeGoldenWeekHeight", network.Version27},
	{"UpgradeFireHorseHeight", network.Version27 + 1}, // nv28 and nv29 postdate go-state-types v0.16
	{"UpgradeXxHeight", network.Version27 + 2},
}

// notScheduled is the height of upgrades past the chain's network version, like the far-away
// heights Lotus gives upgrades a network has not scheduled.
const notScheduled = abi.ChainEpoch(999999999999)

// forkUpgradeParams says, as a 2k devnet does, that every upgrade up to the chain's network
// version happened before genesis (distinct negative heights) and the later ones never will.
func forkUpgradeParams(nv network.Version) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	past := abi.ChainEpoch(0)
	for i, u := range upgrades {
		if i > 0 {
			b.WriteByte(',')
		}
		h := notScheduled
		switch {
		case u.nv == 0: // a duration, not a height
			h = 0
		case u.nv <= nv:
			past--
			h = past
		}
		b.WriteString(strconv.Quote(u.name))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(int64(h), 10))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// eip155ChainID is the chain id of a local devnet in Lotus (2k builds use 31415926).
const eip155ChainID = 31415926

func (c *Chain) networkParams() *chain.NetworkParams {
	return &chain.NetworkParams{
		NetworkName:             c.opts.NetworkName,
		BlockDelaySecs:          c.opts.BlockDelaySecs,
		ConsensusMinerMinPower:  big.NewInt(2048),
		PreCommitChallengeDelay: c.opts.PreCommitChallengeDelay,
		ForkUpgradeParams:       forkUpgradeParams(c.opts.NetworkVersion),
		Eip155ChainID:           eip155ChainID,
		GenesisTimestamp:        c.opts.GenesisTimestamp,
	}
}
