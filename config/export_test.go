package config

// LoadConfigEnv is loadConfig with an explicit environment, for the tests.
var LoadConfigEnv = loadConfig
var EditDistance = editDistance
