// Package kvstore is the embedded key-value store of both daemons: a sealing thread keeps its
// current job in <location>/meta, and the manager keeps sector states, number counters and the
// worker registry under its home.
//
// It is a bbolt file (one bucket, string keys) where the original used RocksDB and badger: bbolt
// commits each write transaction with an fsync, which is the durability persist-before-acknowledge
// needs, and a transaction can move a record between key spaces atomically.
package kvstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the bbolt file inside the meta directory.
const FileName = "meta.db"

// lockTimeout bounds how long Open waits for the file lock, so a second daemon on the same
// location fails at start-up instead of hanging.
const lockTimeout = time.Second

var bucketName = []byte("meta")

// ErrNotFound is returned by Get for a key that holds no value.
var ErrNotFound = errors.New("key not found")

// KV is what both the whole database and its prefixed views offer.
type KV interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
	Delete(key string) error
}

// DB is one store file and its lock.
type DB struct {
	path string
	bolt *bolt.DB
}

// Modes of the store: only the daemon's user may read it (sector states, deals, the worker
// registry, a thread's job).
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// Open opens (creating if missing) the kvstore in dir, which is a directory as RocksDB's was. The
// directory is made DirMode and the file FileMode, also when an older version created them wider.
func Open(dir string) (*DB, error) {
	if err := makePrivateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)

	// NoSync stays false: every committed Put/Delete is fsync'd before it returns, and the
	// sealing thread's persist-before-acknowledge rule depends on that.
	bdb, err := bolt.Open(path, FileMode, &bolt.Options{Timeout: lockTimeout, NoSync: false})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("kvstore %s is locked by another process (is another daemon using it?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open kvstore %s: %w", path, err)
	}

	err = bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("init kvstore %s: %w", path, err)
	}
	if err := os.Chmod(path, FileMode); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("kvstore %s: %w (it must be mode %04o)", path, err, FileMode)
	}
	return &DB{path: path, bolt: bdb}, nil
}

// makePrivateDir creates dir (its missing parents with the usual 0755) and makes it DirMode.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create kvstore dir: %w", err)
	}
	if err := os.Mkdir(dir, DirMode); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create kvstore dir: %w", err)
	}
	if err := os.Chmod(dir, DirMode); err != nil {
		return fmt.Errorf("kvstore dir %s: %w (it must be mode %04o)", dir, err, DirMode)
	}
	return nil
}

// Path is the bbolt file's path.
func (db *DB) Path() string { return db.path }

// Get returns a copy of the value at key, or ErrNotFound.
func (db *DB) Get(key string) ([]byte, error) {
	var value []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketName).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		// bbolt's slice is only valid inside the transaction.
		value = append([]byte{}, v...)
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("kvstore get %q: %w", key, err)
	}
	return value, err
}

// Put stores value at key in one durable (fsync'd) transaction.
func (db *DB) Put(key string, value []byte) error {
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("kvstore put %q: %w", key, err)
	}
	return nil
}

// Delete removes key in one durable transaction; a missing key is not an error.
func (db *DB) Delete(key string) error {
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("kvstore delete %q: %w", key, err)
	}
	return nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	return db.bolt.Close()
}

// Scan calls fn for every key that starts with prefix, in byte order of the keys. fn must not
// keep value after it returns.
func (db *DB) Scan(prefix string, fn func(key string, value []byte) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketName).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Txn is a read-write transaction: every change in it commits together, with one fsync.
type Txn struct {
	b *bolt.Bucket
}

// Get returns a copy of the value at key, or ErrNotFound.
func (t *Txn) Get(key string) ([]byte, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *Txn) Put(key string, value []byte) error { return t.b.Put([]byte(key), value) }
func (t *Txn) Delete(key string) error            { return t.b.Delete([]byte(key)) }

// Update runs fn in one durable transaction; an error from fn rolls everything back.
func (db *DB) Update(fn func(tx *Txn) error) error {
	return db.update(func(tx *bolt.Tx) error {
		return fn(&Txn{b: tx.Bucket(bucketName)})
	})
}

// Prefixed is a view whose keys are "<prefix>/<key>".
func (db *DB) Prefixed(prefix string) *View {
	return &View{kv: db, prefix: prefix}
}

// View is a prefixed view of a KV; prefixes join with "/" as the original's did.
type View struct {
	kv     KV
	prefix string
}

func (v *View) key(k string) string {
	return v.prefix + "/" + k
}

func (v *View) Get(key string) ([]byte, error)     { return v.kv.Get(v.key(key)) }
func (v *View) Put(key string, value []byte) error { return v.kv.Put(v.key(key), value) }
func (v *View) Delete(key string) error            { return v.kv.Delete(v.key(key)) }

// Prefixed nests another prefix: db.Prefixed("a").Prefixed("b") uses "a/b/<key>".
func (v *View) Prefixed(prefix string) *View {
	return &View{kv: v, prefix: prefix}
}

// Stats are counts over every DB of the process: how many write transactions committed and the
// wall time they took, their fsyncs included. They tell a benchmark (or an operator) how much
// of a sealing step goes into making its state durable.
type Stats struct {
	Commits    int64
	CommitTime time.Duration
	// Buckets counts the commits that took at most CommitBuckets[i] (cumulative, as a
	// Prometheus histogram's are).
	Buckets []int64
}

// CommitBuckets are the upper bounds of Stats.Buckets: 100 µs to 10 s.
var CommitBuckets = []time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond,
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

var (
	commits, commitNanos atomic.Int64
	// commitsUpTo[i] counts the commits that took at most CommitBuckets[i] and more than the bound
	// before it; ReadStats accumulates them.
	commitsUpTo = make([]atomic.Int64, len(CommitBuckets))
)

// ReadStats returns the counts so far; subtract two readings to get those of a period.
func ReadStats() Stats {
	s := Stats{Commits: commits.Load(), CommitTime: time.Duration(commitNanos.Load()), Buckets: make([]int64, len(CommitBuckets))}
	var sum int64
	for i := range CommitBuckets {
		sum += commitsUpTo[i].Load()
		s.Buckets[i] = sum
	}
	return s
}

func countCommit(took time.Duration) {
	if i, _ := slices.BinarySearch(CommitBuckets, took); i < len(CommitBuckets) {
		commitsUpTo[i].Add(1)
	}
	commitNanos.Add(int64(took))
	commits.Add(1)
}

// update is bolt's Update (one fsync'd commit) with the commit counted in Stats.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	start := time.Now()
	err := db.bolt.Update(fn)
	countCommit(time.Since(start))
	return err
}
