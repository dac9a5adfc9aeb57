// Shell completion scripts for `chronik`: commands, sub-commands and common options.

const COMMON =
  "--brokers --format --profile --sasl-mechanism --user --password --token --tls --tls-ca --tls-insecure --timeout --help";
const START =
  "start config --host --port --advertised-host --advertised-port --data-dir --log-level --log-format --node-id --http-port --config --config-file --add-scram --help --version";

export function completionScript(shell: string, commands: string[]): string | null {
  const tops = [...new Set(commands.map((c) => c.split(" ")[0]))].concat("completion", "health", "help").sort();
  const subs = new Map<string, string[]>();
  for (const c of commands) {
    const [top, sub] = c.split(" ");
    if (sub) (subs.get(top) ?? subs.set(top, []).get(top)!).push(sub);
  }
  subs.set("config", ["print"]);
  subs.set("completion", ["bash", "zsh", "fish"]);
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
  COMPREPLY=( $(compgen -W "${COMMON}" -- "$cur") )
}
complete -o default -F _chronik chronik
`;
    case "zsh":
      return `#compdef chronik
# chronik zsh completion: chronik completion zsh > "\${fpath[1]}/_chronik"
_chronik() {
  local -a tops
  tops=(${tops.join(" ")} ${START})
  if (( CURRENT == 2 )); then compadd -a tops; return; fi
  case $words[2] in
${[...subs].map(([t, s]) => `    ${t}) if (( CURRENT == 3 )); then compadd ${s.join(" ")}; return; fi ;;`).join("\n")}
  esac
  compadd -- ${COMMON}
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
${COMMON.split(" ").map((o) => `complete -c chronik -l ${o.slice(2)}`).join("\n")}
`;
    default:
      return null;
  }
}
