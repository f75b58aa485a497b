package profiles

// busServes: macOS has no session bus backends (keychain instead).
func busServes(string) bool { return false }

// secretServiceCollections: macOS has no Secret Service.
func secretServiceCollections() ([]string, error) { return nil, errNoSecretService }
