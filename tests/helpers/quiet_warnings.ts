// Test preload (bunfig.toml): kafkajs's RequestQueue arms timers with negative delays (kafkajs issue #1751), and
// the runtime prints a TimeoutNegativeWarning for each; hide that one warning and pass every other to the
// runtime's own printer.
for (const print of process.listeners("warning")) {
  process.off("warning", print);
  process.on("warning", (w) => {
    if (w.name !== "TimeoutNegativeWarning") print(w);
  });
}
