package menu

import (
	"maps"
	"slices"
)

// Machine returns the name of the machine h is, by its MAC address or
// UUID, or "" when it is none of the catalog's. Identifiers are unique
// across machines, so at most one can match.
func (c *Catalog) Machine(h Host) string {
	for _, name := range slices.Sorted(maps.Keys(c.Machines)) {
		m := c.Machines[name]
		if m.Identifies(h.MAC, "", h.UUID) {
			return name
		}
	}
	return ""
}

// MachineMenu returns the menu the machine h is boots and that machine's
// name, or nil when h is no machine or its machine names no menu.
func (c *Catalog) MachineMenu(h Host) (*Menu, string) {
	name := c.Machine(h)
	if name == "" || c.Machines[name].Menu == "" {
		return nil, ""
	}
	m, ok := c.Menus[c.Machines[name].Menu]
	if !ok {
		return nil, ""
	}
	return &m, name
}
