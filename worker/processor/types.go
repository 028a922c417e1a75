// Package processor holds the heavy sealing stages (tree_d, pc1, pc2, c1, c2, snap, transfer):
// their task and output types with the JSON names of the vc-processors protocol, and the
// implementations a worker can choose from (built-in in-process, or external child processes).
package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/extproc"

	"github.com/filecoin-project/go-state-types/abi"
)

// Processor runs one stage. Built-in and external implementations satisfy the same interface, so
// a sealing thread never knows where a stage runs.
type Processor[I any, O any] = extproc.Processor[I, O]

// Func adapts a function to Processor.
type Func[I any, O any] func(ctx context.Context, task I) (O, error)

func (f Func[I, O]) Process(ctx context.Context, task I) (O, error) { return f(ctx, task) }

// Stage names, as used for [[processors.<stage>]], limitations and `processor <stage>`.
const (
	StageTreeD      = "tree_d"
	StagePC1        = "pc1"
	StagePC2        = "pc2"
	StageC1         = "c1"
	StageC2         = "c2"
	StageSnapEncode = "snap_encode"
	StageSnapProve  = "snap_prove"
	StageTransfer   = "transfer"
)

// SealProof is a RegisteredSealProof that crosses the processor protocol as its variant name,
// e.g. "StackedDrg32GiBV1_1".
type SealProof abi.RegisteredSealProof

var sealProofNames = map[abi.RegisteredSealProof]string{
	abi.RegisteredSealProof_StackedDrg2KiBV1:     "StackedDrg2KiBV1",
	abi.RegisteredSealProof_StackedDrg8MiBV1:     "StackedDrg8MiBV1",
	abi.RegisteredSealProof_StackedDrg512MiBV1:   "StackedDrg512MiBV1",
	abi.RegisteredSealProof_StackedDrg32GiBV1:    "StackedDrg32GiBV1",
	abi.RegisteredSealProof_StackedDrg64GiBV1:    "StackedDrg64GiBV1",
	abi.RegisteredSealProof_StackedDrg2KiBV1_1:   "StackedDrg2KiBV1_1",
	abi.RegisteredSealProof_StackedDrg8MiBV1_1:   "StackedDrg8MiBV1_1",
	abi.RegisteredSealProof_StackedDrg512MiBV1_1: "StackedDrg512MiBV1_1",
	abi.RegisteredSealProof_StackedDrg32GiBV1_1:  "StackedDrg32GiBV1_1",
	abi.RegisteredSealProof_StackedDrg64GiBV1_1:  "StackedDrg64GiBV1_1",
}

func (p SealProof) String() string {
	if n, ok := sealProofNames[abi.RegisteredSealProof(p)]; ok {
		return n
	}
	return fmt.Sprintf("RegisteredSealProof(%d)", int64(p))
}

func (p SealProof) MarshalJSON() ([]byte, error) {
	n, ok := sealProofNames[abi.RegisteredSealProof(p)]
	if !ok {
		return nil, fmt.Errorf("unknown seal proof %d", int64(p))
	}
	return json.Marshal(n)
}

func (p *SealProof) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("registered proof must be a name such as \"StackedDrg2KiBV1_1\": %w", err)
	}
	for k, v := range sealProofNames {
		if v == s {
			*p = SealProof(k)
			return nil
		}
	}
	return fmt.Errorf("unknown registered proof %q", s)
}

// PieceInfo is a piece as the proofs see it: its commitment and unpadded size.
type PieceInfo struct {
	Commitment [32]byte              `json:"commitment"`
	Size       abi.UnpaddedPieceSize `json:"size"`
}

type TreeDInput struct {
	RegisteredProof SealProof `json:"registered_proof"`
	StagedFile      string    `json:"staged_file"`
	CacheDir        string    `json:"cache_dir"`
}

type PC1Input struct {
	RegisteredProof SealProof        `json:"registered_proof"`
	CachePath       string           `json:"cache_path"`
	InPath          string           `json:"in_path"`
	OutPath         string           `json:"out_path"`
	ProverID        [32]byte         `json:"prover_id"`
	SectorID        abi.SectorNumber `json:"sector_id"`
	Ticket          [32]byte         `json:"ticket"`
	PieceInfos      []PieceInfo      `json:"piece_infos"`
}

// PC1Output is opaque to the worker: it is stored in the job and handed to PC2 as is.
type PC1Output = json.RawMessage

type PC2Input struct {
	PC1Out     PC1Output `json:"pc1out"`
	CacheDir   string    `json:"cache_dir"`
	SealedFile string    `json:"sealed_file"`
}

type PC2Output struct {
	RegisteredProof SealProof `json:"registered_proof"`
	CommR           [32]byte  `json:"comm_r"`
	CommD           [32]byte  `json:"comm_d"`
}

// C1Input is in-process only (there is no c1 consumer), so its shape is ours.
type C1Input struct {
	RegisteredProof SealProof        `json:"registered_proof"`
	CachePath       string           `json:"cache_path"`
	ReplicaPath     string           `json:"replica_path"`
	ProverID        [32]byte         `json:"prover_id"`
	SectorID        abi.SectorNumber `json:"sector_id"`
	Ticket          [32]byte         `json:"ticket"`
	Seed            [32]byte         `json:"seed"`
	PC2Out          PC2Output        `json:"pc2out"`
	PieceInfos      []PieceInfo      `json:"piece_infos"`
}

// C1Output is opaque to the worker, like PC1Output.
type C1Output = json.RawMessage

type C2Input struct {
	C1Out    C1Output         `json:"c1out"`
	ProverID [32]byte         `json:"prover_id"`
	SectorID abi.SectorNumber `json:"sector_id"`
	MinerID  abi.ActorID      `json:"miner_id"`
}

type C2Output struct {
	Proof []byte `json:"proof"`
}

// MarshalJSON writes the proof as a list of ints, as rust-fil-proofs' serde does.
func (o C2Output) MarshalJSON() ([]byte, error) {
	ints := make([]int, len(o.Proof))
	for i, b := range o.Proof {
		ints[i] = int(b)
	}
	return json.Marshal(struct {
		Proof []int `json:"proof"`
	}{ints})
}

func (o *C2Output) UnmarshalJSON(b []byte) error {
	var v struct {
		Proof []uint8 `json:"proof"`
	}
	// encoding/json decodes a []uint8 from base64; accept the int-list form explicitly.
	var ints struct {
		Proof []int `json:"proof"`
	}
	if err := json.Unmarshal(b, &ints); err == nil {
		o.Proof = make([]byte, len(ints.Proof))
		for i, n := range ints.Proof {
			if n < 0 || n > 255 {
				return fmt.Errorf("proof byte %d out of range: %d", i, n)
			}
			o.Proof[i] = byte(n)
		}
		return nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Proof = v.Proof
	return nil
}

// TransferStoreInfo names a persist store a transfer writes to.
type TransferStoreInfo struct {
	Name string            `json:"name"`
	Meta map[string]string `json:"meta"`
}

type TransferItem struct {
	StoreName *string `json:"store_name"`
	URI       string  `json:"uri"`
}

type TransferOption struct {
	IsDir     bool `json:"is_dir"`
	AllowLink bool `json:"allow_link"`
}

type TransferRoute struct {
	Src  TransferItem    `json:"src"`
	Dest TransferItem    `json:"dest"`
	Opt  *TransferOption `json:"opt"`
}

type TransferInput struct {
	Stores map[string]TransferStoreInfo `json:"stores"`
	Routes []TransferRoute              `json:"routes"`
}

// Set is the processors a worker seals with, one per stage.
type Set struct {
	TreeD    Processor[TreeDInput, bool]
	PC1      Processor[PC1Input, PC1Output]
	PC2      Processor[PC2Input, PC2Output]
	C1       Processor[C1Input, C1Output]
	C2       Processor[C2Input, C2Output]
	Transfer Processor[TransferInput, bool]
	// SnapEncode and SnapProve upgrade a CC sector with deal data (the snapup plan).
	SnapEncode  Processor[SnapEncodeInput, SnapEncodeOutput]
	SnapVanilla Processor[SnapVanillaInput, []Bytes]
	SnapProve   Processor[SnapProveInput, SnapProveOutput]
	SnapVerify  Processor[SnapVerifyInput, bool]
}

// UpdateProof is a RegisteredUpdateProof that crosses the processor protocol as its variant name,
// e.g. "StackedDrg32GiBV1".
type UpdateProof abi.RegisteredUpdateProof

var updateProofNames = map[abi.RegisteredUpdateProof]string{
	abi.RegisteredUpdateProof_StackedDrg2KiBV1:   "StackedDrg2KiBV1",
	abi.RegisteredUpdateProof_StackedDrg8MiBV1:   "StackedDrg8MiBV1",
	abi.RegisteredUpdateProof_StackedDrg512MiBV1: "StackedDrg512MiBV1",
	abi.RegisteredUpdateProof_StackedDrg32GiBV1:  "StackedDrg32GiBV1",
	abi.RegisteredUpdateProof_StackedDrg64GiBV1:  "StackedDrg64GiBV1",
}

func (p UpdateProof) MarshalJSON() ([]byte, error) {
	n, ok := updateProofNames[abi.RegisteredUpdateProof(p)]
	if !ok {
		return nil, fmt.Errorf("unknown update proof %d", int64(p))
	}
	return json.Marshal(n)
}

func (p *UpdateProof) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("registered update proof must be a name such as \"StackedDrg2KiBV1\": %w", err)
	}
	for k, v := range updateProofNames {
		if v == s {
			*p = UpdateProof(k)
			return nil
		}
	}
	return fmt.Errorf("unknown registered update proof %q", s)
}

type SnapEncodeInput struct {
	RegisteredProof UpdateProof `json:"registered_proof"`
	NewReplicaPath  string      `json:"new_replica_path"`
	NewCachePath    string      `json:"new_cache_path"`
	SectorPath      string      `json:"sector_path"`
	SectorCachePath string      `json:"sector_cache_path"`
	StagedDataPath  string      `json:"staged_data_path"`
	PieceInfos      []PieceInfo `json:"piece_infos"`
}

type SnapEncodeOutput struct {
	CommRNew     [32]byte `json:"comm_r_new"`
	CommRLastNew [32]byte `json:"comm_r_last_new"`
	CommDNew     [32]byte `json:"comm_d_new"`
}

// Bytes crosses the protocol as a list of ints, as rust-fil-proofs' serde writes Vec<u8>.
type Bytes []byte

func (b Bytes) MarshalJSON() ([]byte, error) {
	ints := make([]int, len(b))
	for i, v := range b {
		ints[i] = int(v)
	}
	return json.Marshal(ints)
}

func (b *Bytes) UnmarshalJSON(data []byte) error {
	var ints []int
	if err := json.Unmarshal(data, &ints); err != nil {
		return fmt.Errorf("bytes must be a list of ints: %w", err)
	}
	out := make([]byte, len(ints))
	for i, n := range ints {
		if n < 0 || n > 255 {
			return fmt.Errorf("byte %d out of range: %d", i, n)
		}
		out[i] = byte(n)
	}
	*b = out
	return nil
}

type SnapProveInput struct {
	RegisteredProof UpdateProof `json:"registered_proof"`
	// VanillaProofs keeps the original's misspelt field name: it is the wire name.
	VanillaProofs []Bytes  `json:"vannilla_proofs"`
	CommROld      [32]byte `json:"comm_r_old"`
	CommRNew      [32]byte `json:"comm_r_new"`
	CommDNew      [32]byte `json:"comm_d_new"`
}

// SnapProveOutput is the update proof.
type SnapProveOutput = Bytes

// SnapVanillaInput asks for the vanilla proofs of an update; in-process only, like C1.
type SnapVanillaInput struct {
	RegisteredProof    UpdateProof `json:"registered_proof"`
	SectorKeyPath      string      `json:"sector_key_path"`
	SectorKeyCachePath string      `json:"sector_key_cache_path"`
	ReplicaPath        string      `json:"replica_path"`
	ReplicaCachePath   string      `json:"replica_cache_path"`
	CommROld           [32]byte    `json:"comm_r_old"`
	CommRNew           [32]byte    `json:"comm_r_new"`
	CommDNew           [32]byte    `json:"comm_d_new"`
}

// SnapVerifyInput checks an update proof before it is submitted; in-process only.
type SnapVerifyInput struct {
	RegisteredProof UpdateProof `json:"registered_proof"`
	Proof           Bytes       `json:"proof"`
	CommROld        [32]byte    `json:"comm_r_old"`
	CommRNew        [32]byte    `json:"comm_r_new"`
	CommDNew        [32]byte    `json:"comm_d_new"`
}
