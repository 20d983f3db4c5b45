package config

// LoadConfigEnv is loadConfig with an explicit environment, for the tests.
func LoadConfigEnv(path string, sets, environ []string) (*Config, error) {
	return loadConfig(path, nil, sets, environ)
}

var EditDistance = editDistance
