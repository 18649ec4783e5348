// Package config is the hub's configuration: typed structs decoded strictly
// from one YAML file, ${NAME} secrets read from the environment, defaults
// applied, and every problem reported with its field path.
// It only reads; it never starts anything, opens a store or touches the network.
package config
