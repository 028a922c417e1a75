//go:build !amd64 || purego

package merkle

var useSHANI = false

func hashLayer(dst, src []byte) { hashLayerGeneric(dst, src) }
