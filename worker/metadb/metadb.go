// Package metadb is the small key-value store a sealing thread keeps in <location>/meta: the
// current job's record lives there, so a restarted worker resumes where it stopped.
//
// It is a bbolt file (one bucket, string keys) where the original used RocksDB: bbolt commits
// each write transaction with an fsync, which is exactly the durability a sealing thread needs.
package metadb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
var ErrNotFound = errors.New("metadb: key not found")

// KV is what both the whole database and its prefixed views offer.
type KV interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
	Delete(key string) error
}

// DB is one sealing location's metadb.
type DB struct {
	path string
	bolt *bolt.DB
}

// Open opens (creating if missing) the metadb in dir, which is a directory as RocksDB's was.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create metadb dir: %w", err)
	}
	path := filepath.Join(dir, FileName)

	// NoSync stays false: every committed Put/Delete is fsync'd before it returns, and the
	// sealing thread's persist-before-acknowledge rule depends on that.
	bdb, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: lockTimeout, NoSync: false})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("metadb %s is locked by another process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open metadb %s: %w", path, err)
	}

	err = bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("init metadb %s: %w", path, err)
	}
	return &DB{path: path, bolt: bdb}, nil
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
		return nil, fmt.Errorf("metadb get %q: %w", key, err)
	}
	return value, err
}

// Put stores value at key in one durable (fsync'd) transaction.
func (db *DB) Put(key string, value []byte) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("metadb put %q: %w", key, err)
	}
	return nil
}

// Delete removes key in one durable transaction; a missing key is not an error.
func (db *DB) Delete(key string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("metadb delete %q: %w", key, err)
	}
	return nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	return db.bolt.Close()
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
