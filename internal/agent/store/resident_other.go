//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// dropResident does nothing where the agent does not run.
func dropResident(*bolt.DB, *bolt.Tx) {}
