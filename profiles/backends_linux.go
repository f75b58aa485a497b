package profiles

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path"
	"slices"
	"time"

	"github.com/godbus/dbus"
)

// busServes reports whether a bus name has an owner on the session bus, or can be started
// by it. Opening KWallet itself would open the wallet, which may ask the user. Called only
// once keyring has found the bus (it lists the bus backends only then): with
// DBUS_SESSION_BUS_ADDRESS unset, godbus would launch a bus.
func busServes(name string) bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a == "" || a == "autolaunch:" {
		return false
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var owned bool
	if conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned) == nil && owned {
		return true
	}
	var activatable []string
	if conn.BusObject().Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable) != nil {
		return false
	}
	return slices.Contains(activatable, name)
}

// secretServiceCollections names the Secret Service's collections as keyring finds them:
// the last element of each one's object path, unescaped. Called only once a Secret Service
// has answered on the session bus; the call is bounded.
func secretServiceCollections() ([]string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a == "" || a == "autolaunch:" {
		return nil, errNoSecretService // godbus would launch a bus
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), busTimeout)
	defer cancel()
	var v dbus.Variant
	err = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.Secret.Service", "Collections").Store(&v)
	if err != nil {
		return nil, err
	}
	paths, ok := v.Value().([]dbus.ObjectPath)
	if !ok {
		return nil, errors.New("the Secret Service's Collections is not a list of object paths")
	}
	var names []string
	for _, p := range paths {
		names = append(names, unescapeBusPath(path.Base(string(p))))
	}
	return names, nil
}

// busTimeout bounds one call to a service on the session bus.
const busTimeout = 5 * time.Second

// unescapeBusPath undoes the Secret Service's escaping of a name in an object path (each
// byte that is not a letter or digit as _XX), as keyring matches collections by name.
func unescapeBusPath(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if b, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				out = append(out, b[0])
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}
