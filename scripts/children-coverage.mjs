// Preloaded (`node --import`) by scripts/test.mjs into the test processes of the layers that drive
// other processes (DRIVERS there: servers, CLIs, browsers) when it runs under c8. Such a process is
// started without NODE_V8_COVERAGE, so its own code (test support, Playwright, the fixtures) runs
// without block coverage, which only slows it; this puts the variable back into its environment for
// the processes it starts, whose coverage is what the run counts.
const directory = process.env.PEOPLE_NOTES_CHILDREN_COVERAGE;
if (directory) {
  process.env.NODE_V8_COVERAGE = directory;
  delete process.env.PEOPLE_NOTES_CHILDREN_COVERAGE;
}
