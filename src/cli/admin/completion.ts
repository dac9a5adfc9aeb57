// Shell completion scripts for `chronik`: commands, sub-commands, and each command's options.

/** What the completion lists come from: the CLI's own option tables, so they cannot drift from it. */
export type CompletionSource = {
  /** Each admin command ("topic create", "produce") with its own long options. */
  commands: Record<string, string[]>;
  /** Options every admin command takes (GLOBAL_OPTS). */
  global: string[];
  /** `chronik start`'s options (start_config.ts startFlags()). */
  start: string[];
};

export function completionScript(shell: string, source: CompletionSource): string | null {
  const { commands, global: COMMON } = source;
  const startOpts = source.start.join(" ");
  const names = Object.keys(commands);
  const tops = [...new Set(names.map((c) => c.split(" ")[0]))].concat("completion", "config", "health", "help").sort();
  const subs = new Map<string, string[]>();
  for (const c of names) {
    const [top, sub] = c.split(" ");
    if (!sub) continue;
    const list = subs.get(top) ?? subs.set(top, []).get(top)!;
    if (!list.includes(sub)) list.push(sub);
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
    COMPREPLY=( $(compgen -W "${tops.join(" ")} start ${startOpts}" -- "$cur") ); return
  fi
  case "\${COMP_WORDS[1]}" in
    start|-*) COMPREPLY=( $(compgen -W "${startOpts}" -- "$cur") ); return ;;
    config) if [ "$COMP_CWORD" -gt 2 ]; then COMPREPLY=( $(compgen -W "${startOpts}" -- "$cur") ); return; fi ;;
  esac
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
  tops=(${tops.join(" ")} start ${startOpts})
  if (( CURRENT == 2 )); then compadd -a tops; return; fi
  case $words[2] in
    start|-*) compadd -- ${startOpts}; return ;;
    config) if (( CURRENT > 3 )); then compadd -- ${startOpts}; return; fi ;;
  esac
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
        source.start.map((o) =>
          `complete -c chronik -n "__fish_use_subcommand; or __fish_seen_subcommand_from start config" -l ${o.slice(2)}`
        ).join("\n")
      }
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
