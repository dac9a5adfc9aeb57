// Shell completion scripts for `chronik`: commands, sub-commands, and each command's options.

const COMMON = [
  "--brokers",
  "--format",
  "--profile",
  "--sasl-mechanism",
  "--user",
  "--password",
  "--token",
  "--tls",
  "--tls-ca",
  "--tls-insecure",
  "--timeout",
  "--help",
];
const START =
  "start config --host --port --advertised-host --advertised-port --data-dir --log-level --log-format --node-id --http-port --config --config-file --add-scram --help --version";

/** `commands`: each admin command ("topic create", "produce") with its own long options. */
export function completionScript(shell: string, commands: Record<string, string[]>): string | null {
  const names = Object.keys(commands);
  const tops = [...new Set(names.map((c) => c.split(" ")[0]))].concat("completion", "health", "help").sort();
  const subs = new Map<string, string[]>();
  for (const c of names) {
    const [top, sub] = c.split(" ");
    if (sub) (subs.get(top) ?? subs.set(top, []).get(top)!).push(sub);
  }
  subs.set("config", ["print"]);
  subs.set("completion", ["bash", "zsh", "fish"]);
  // "cluster config get" completes as "cluster config"'s options: a shell sees two words at most here.
  const optsOf = new Map<string, Set<string>>();
  for (const [name, opts] of Object.entries(commands)) {
    const key = name.split(" ").slice(0, 2).join(" ");
    const set = optsOf.get(key) ?? optsOf.set(key, new Set()).get(key)!;
    for (const o of opts) set.add(o);
  }
  const common = COMMON.join(" ");
  switch (shell) {
    case "bash":
      return `# chronik bash completion: eval "$(chronik completion bash)"
_chronik() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${tops.join(" ")} ${START}" -- "$cur") ); return
  fi
  case "\${COMP_WORDS[1]}" in
${
        [...subs].map(([t, s]) =>
          `    ${t}) if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "${
            s.join(" ")
          }" -- "$cur") ); return; fi ;;`
        ).join("\n")
      }
  esac
  local opts="${common}"
  case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${
        [...optsOf].filter(([k]) => k.includes(" ")).map(([k, o]) => `    "${k}") opts="$opts ${[...o].join(" ")}" ;;`)
          .join("\n")
      }
  esac
  case "\${COMP_WORDS[1]}" in
${
        [...optsOf].filter(([k]) => !k.includes(" ")).map(([k, o]) => `    ${k}) opts="$opts ${[...o].join(" ")}" ;;`)
          .join("\n")
      }
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _chronik chronik
`;
    case "zsh":
      return `#compdef chronik
# chronik zsh completion: chronik completion zsh > "\${fpath[1]}/_chronik"
_chronik() {
  local -a tops opts
  tops=(${tops.join(" ")} ${START})
  if (( CURRENT == 2 )); then compadd -a tops; return; fi
  case $words[2] in
${[...subs].map(([t, s]) => `    ${t}) if (( CURRENT == 3 )); then compadd ${s.join(" ")}; return; fi ;;`).join("\n")}
  esac
  opts=(${common})
  case "$words[2] $words[3]" in
${[...optsOf].filter(([k]) => k.includes(" ")).map(([k, o]) => `    "${k}") opts+=(${[...o].join(" ")}) ;;`).join("\n")}
  esac
  case $words[2] in
${[...optsOf].filter(([k]) => !k.includes(" ")).map(([k, o]) => `    ${k}) opts+=(${[...o].join(" ")}) ;;`).join("\n")}
  esac
  compadd -a opts
}
compdef _chronik chronik
`;
    case "fish":
      return `# chronik fish completion: chronik completion fish > ~/.config/fish/completions/chronik.fish
complete -c chronik -f
complete -c chronik -n "__fish_use_subcommand" -a "${tops.join(" ")} start"
${
        [...subs].map(([t, s]) =>
          `complete -c chronik -n "__fish_seen_subcommand_from ${t}; and not __fish_seen_subcommand_from ${
            s.join(" ")
          }" -a "${s.join(" ")}"`
        ).join("\n")
      }
${COMMON.map((o) => `complete -c chronik -l ${o.slice(2)}`).join("\n")}
${
        [...optsOf].flatMap(([k, o]) => {
          const cond = k.split(" ").map((w) => `__fish_seen_subcommand_from ${w}`).join("; and ");
          return [...o].map((opt) => `complete -c chronik -n "${cond}" -l ${opt.slice(2)}`);
        }).join("\n")
      }
`;
    default:
      return null;
  }
}
