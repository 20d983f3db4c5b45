package report

// LossColors is lossColors, for the external tests.
var LossColors = lossColors

// NiceTicks is niceTicks, for the external tests.
var NiceTicks = niceTicks

// Envelope is envelope, for the external tests.
var Envelope = envelope
