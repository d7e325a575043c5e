import type { Command } from 'commander';
import { type CommandNode, type FlagNode, nodes, spellings, walk } from './tree.js';

export type Shell = 'bash' | 'zsh' | 'fish';

/** The completion script for `shell`, generated from the program's command tree. */
export function completionScript(shell: Shell, program: Command): string {
  const root = walk(program);
  const bin = root.name;
  if (shell === 'bash') return bashScript(bin, root);
  if (shell === 'zsh') return zshScript(bin, root);
  return fishScript(bin, root);
}

/** The shell function name for `bin` (`comms-cli` -> `_comms_cli`). */
const fnName = (bin: string) => `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** Single-quoted for sh-family shells and fish (`'` -> `'\''` / `\'`). */
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const fishq = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** The words offered at a position under `node`: its subcommands (and aliases), argument choices, flags. */
function words(node: CommandNode): { commands: string[]; flags: string[] } {
  return {
    commands: [...node.subcommands.flatMap((s) => [s.name, ...s.aliases]), ...node.argChoices],
    flags: node.flags.flatMap((f) => (f.long ? [f.long] : spellings(f))),
  };
}

/**
 * The three lookups every script shares, as `case` arms over `PATH|WORD` keys:
 *   sub:    PATH|WORD -> the child path when WORD names a subcommand (or an alias of one)
 *   takes:  PATH|FLAG -> the flag takes a value (so the next word is not a command)
 *   values: PATH|FLAG -> its fixed values
 */
function lookups(root: CommandNode) {
  const sub: Array<[string, string]> = [];
  const takes: string[] = [];
  const values: Array<[string, string[]]> = [];
  for (const node of nodes(root)) {
    for (const child of node.subcommands)
      for (const name of [child.name, ...child.aliases]) sub.push([`${node.path}|${name}`, child.path]);
    for (const flag of node.flags as FlagNode[]) {
      if (!flag.takesValue) continue;
      for (const s of spellings(flag)) {
        takes.push(`${node.path}|${s}`);
        if (flag.choices.length) values.push([`${node.path}|${s}`, [...flag.choices]]);
      }
    }
  }
  return { sub, takes, values };
}

function bashScript(bin: string, root: CommandNode): string {
  const fn = fnName(bin);
  const { sub, takes, values } = lookups(root);
  const offered = nodes(root).map((n) => {
    const w = words(n);
    return `    ${shq(n.path)}) commands=${shq(w.commands.join(' '))}; flags=${shq(w.flags.join(' '))} ;;`;
  });
  return `# ${bin} completion for bash, generated from the command tree (${bin} completion bash).
# Install: source <(${bin} completion bash)   (or save it under ~/.local/share/bash-completion/completions/${bin})

${fn}_sub() {
  case "$1|$2" in
${sub.map(([k, v]) => `    ${shq(k)}) echo ${shq(v)} ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}_takes() {
  case "$1|$2" in
${takes.length ? `    ${takes.map(shq).join('|')}) return 0 ;;\n` : ''}    *) return 1 ;;
  esac
}

${fn}_values() {
  case "$1|$2" in
${values.map(([k, v]) => `    ${shq(k)}) echo ${shq(v.join(' '))} ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}() {
  local cur prev path next i w commands flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  path=""
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --*=*) continue ;;
      -*) ${fn}_takes "$path" "$w" && (( i++ )); continue ;;
    esac
    next="$(${fn}_sub "$path" "$w")" && path="$next"
  done
  COMPREPLY=()
  if [[ "$prev" == -* ]] && ${fn}_takes "$path" "$prev"; then
    local fixed
    fixed="$(${fn}_values "$path" "$prev")" && COMPREPLY=( $(compgen -W "$fixed" -- "$cur") )
    return 0
  fi
  case "$path" in
${offered.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [[ -n "$commands" ]]; then
    COMPREPLY=( $(compgen -W "$commands" -- "$cur") )
  fi
  return 0
}

complete -o default -o bashdefault -F ${fn} ${bin}
`;
}

function zshScript(bin: string, root: CommandNode): string {
  const fn = fnName(bin);
  const { sub, takes, values } = lookups(root);
  const offered = nodes(root).map((n) => {
    const cmds = [
      ...n.subcommands.flatMap((s) => [s.name, ...s.aliases].map((name) => `${name}:${s.help}`)),
      ...n.argChoices.map((c) => `${c}:${c}`),
    ];
    const flags = n.flags.flatMap((f) => spellings(f).map((s) => `${s.replaceAll(':', '\\:')}:${f.help}`));
    return `    ${shq(n.path)}) commands=(${cmds.map((c) => shq(c.replaceAll('\n', ' '))).join(' ')}); flags=(${flags.map((c) => shq(c.replaceAll('\n', ' '))).join(' ')}) ;;`;
  });
  return `#compdef ${bin}
# ${bin} completion for zsh, generated from the command tree (${bin} completion zsh).
# Install: ${bin} completion zsh > "\${fpath[1]}/_${bin}"   (then start a new shell; needs compinit)

${fn}_sub() {
  case "$1|$2" in
${sub.map(([k, v]) => `    ${shq(k)}) print -r -- ${shq(v)} ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}_takes() {
  case "$1|$2" in
${takes.length ? `    ${takes.map(shq).join('|')}) return 0 ;;\n` : ''}    *) return 1 ;;
  esac
}

${fn}_values() {
  case "$1|$2" in
${values.map(([k, v]) => `    ${shq(k)}) print -r -- ${shq(v.join(' '))} ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" path="" next w i
  local -a commands flags
  for (( i = 2; i < CURRENT; i++ )); do
    w="\${words[i]}"
    case "$w" in
      --*=*) continue ;;
      -*) ${fn}_takes "$path" "$w" && (( i++ )); continue ;;
    esac
    next="$(${fn}_sub "$path" "$w")" && path="$next"
  done
  if [[ "$prev" == -* ]] && ${fn}_takes "$path" "$prev"; then
    local fixed
    if fixed="$(${fn}_values "$path" "$prev")"; then
      compadd -- \${=fixed}
    else
      _files
    fi
    return
  fi
  case "$path" in
${offered.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    _describe -t options 'option' flags
  elif (( \${#commands} )); then
    _describe -t commands 'command' commands
  else
    _files
  fi
}

if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${bin}
fi
`;
}

function fishScript(bin: string, root: CommandNode): string {
  const fn = `__${fnName(bin).slice(1)}`;
  const { sub, takes } = lookups(root);
  const lines: string[] = [];
  for (const node of nodes(root)) {
    const cond = `-n ${fishq(`${fn}_path_is ${fishq(node.path)}`)}`;
    for (const child of node.subcommands)
      for (const name of [child.name, ...child.aliases])
        lines.push(
          `complete -c ${bin} -f ${cond} -a ${fishq(name)} -d ${fishq(child.help.replaceAll('\n', ' '))}`,
        );
    if (node.argChoices.length)
      lines.push(`complete -c ${bin} -f ${cond} -a ${fishq(node.argChoices.join(' '))}`);
    for (const flag of node.flags) {
      const parts = [`complete -c ${bin} ${cond}`];
      if (flag.long) parts.push(`-l ${fishq(flag.long.slice(2))}`);
      if (flag.short) parts.push(`-s ${fishq(flag.short.slice(1))}`);
      if (flag.takesValue) parts.push('-r');
      if (flag.choices.length) parts.push(`-f -a ${fishq(flag.choices.join(' '))}`);
      parts.push(`-d ${fishq(flag.help.replaceAll('\n', ' '))}`);
      lines.push(parts.join(' '));
    }
  }
  return `# ${bin} completion for fish, generated from the command tree (${bin} completion fish).
# Install: ${bin} completion fish > ~/.config/fish/completions/${bin}.fish

function ${fn}_sub
    switch "$argv[1]|$argv[2]"
${sub.map(([k, v]) => `        case ${fishq(k)}\n            echo ${fishq(v)}`).join('\n')}
        case '*'
            return 1
    end
end

function ${fn}_takes
    switch "$argv[1]|$argv[2]"
${takes.length ? `        case ${takes.map(fishq).join(' ')}\n            return 0\n` : ''}        case '*'
            return 1
    end
end

# The command path (\`http get\`) of the words typed so far.
function ${fn}_path
    set -l words (commandline -opc)
    set -l path ''
    set -l skip 0
    for w in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case '--*=*'
                continue
            case '-*'
                ${fn}_takes "$path" "$w"; and set skip 1
                continue
        end
        set -l next (${fn}_sub "$path" "$w"); and set path $next
    end
    echo $path
end

function ${fn}_path_is
    set -l path (${fn}_path)
    test "$path" = "$argv[1]"
end

${lines.join('\n')}
`;
}
