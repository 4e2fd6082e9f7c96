#!/usr/bin/python3
"""Checks that a new descriptor set of the public contract is backward compatible with the
last released one.

    proto_compat.py OLD.pb NEW.pb

Both files are FileDescriptorSets made with
    protoc --include_imports --include_source_info --descriptor_set_out=FILE ...
(source info is needed for the DRAFT markers below).

A violation is:
  - a removed message, field, enum, enum value, service or method;
  - a renumbered field or enum value (the same name under another number), or a renamed one
    (another name under the same number);
  - a field whose type, message/enum type, label (repeated / singular) or oneof changed;
  - a method whose input type, output type, client streaming or server streaming changed.

Exempt (they may change freely until they are built):
  - services whose leading comment contains "DRAFT until" in OLD, and their methods;
  - methods whose leading comment contains "DRAFT until" in OLD;
  - messages and enums reachable only from exempt methods (a type reachable from no method
    at all is checked, since clients may use it directly).
Additions are always allowed.

Exit status: 0 compatible, 1 violations (each printed on stdout, one per line), 2 usage or
input error. Needs only Debian's python3-protobuf.
"""

import sys

from google.protobuf import descriptor_pb2

FDP = descriptor_pb2.FieldDescriptorProto
DRAFT_MARK = "DRAFT until"

# Path components of descriptor.proto (for SourceCodeInfo locations).
FILE_SERVICE = 6
SERVICE_METHOD = 2

TYPE_NAMES = {v: k[len("TYPE_"):].lower() for k, v in FDP.Type.items()}
LABEL_NAMES = {FDP.LABEL_OPTIONAL: "singular", FDP.LABEL_REQUIRED: "required",
               FDP.LABEL_REPEATED: "repeated"}


def load(path):
    fds = descriptor_pb2.FileDescriptorSet()
    try:
        with open(path, "rb") as f:
            fds.ParseFromString(f.read())
    except Exception as e:  # noqa: BLE001 - unreadable or undecodable: an input error
        sys.stderr.write("proto_compat: cannot read %s: %s\n" % (path, e))
        sys.exit(2)
    if not fds.file:
        sys.stderr.write("proto_compat: %s holds no file descriptors\n" % path)
        sys.exit(2)
    return fds


class Contract:
    """Indexes one FileDescriptorSet by fully qualified names."""

    def __init__(self, fds):
        self.messages = {}  # ".pkg.Msg" -> DescriptorProto
        self.enums = {}  # ".pkg.Enum" -> EnumDescriptorProto
        self.services = {}  # ".pkg.Svc" -> (ServiceDescriptorProto, draft, {method: draft})
        self.has_source_info = False
        for f in fds.file:
            prefix = "." + f.package if f.package else ""
            comments = {}
            if f.HasField("source_code_info"):
                self.has_source_info = True
                for loc in f.source_code_info.location:
                    comments[tuple(loc.path)] = loc.leading_comments
            for m in f.message_type:
                self._add_message(prefix, m)
            for e in f.enum_type:
                self.enums[prefix + "." + e.name] = e
            for si, s in enumerate(f.service):
                sdraft = DRAFT_MARK in comments.get((FILE_SERVICE, si), "")
                mdraft = {}
                for mi, m in enumerate(s.method):
                    text = comments.get((FILE_SERVICE, si, SERVICE_METHOD, mi), "")
                    mdraft[m.name] = sdraft or DRAFT_MARK in text
                self.services[prefix + "." + s.name] = (s, sdraft, mdraft)

    def _add_message(self, prefix, m):
        name = prefix + "." + m.name
        self.messages[name] = m
        for n in m.nested_type:
            self._add_message(name, n)
        for e in m.enum_type:
            self.enums[name + "." + e.name] = e

    def protected_types(self):
        """Types reachable from a non-DRAFT method, plus types reachable from no method."""
        def closure(roots):
            seen, todo = set(), list(roots)
            while todo:
                t = todo.pop()
                if t in seen:
                    continue
                seen.add(t)
                m = self.messages.get(t)
                if m is not None:
                    todo.extend(fl.type_name for fl in m.field if fl.type_name)
            return seen

        live_roots, draft_roots = [], []
        for s, _sdraft, mdraft in self.services.values():
            for m in s.method:
                (draft_roots if mdraft[m.name] else live_roots).extend(
                    (m.input_type, m.output_type))
        live = closure(live_roots)
        any_method = closure(live_roots + draft_roots)
        every = set(self.messages) | set(self.enums)
        return live | (every - any_method)


def field_type(f):
    if f.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM, FDP.TYPE_GROUP):
        return "%s %s" % (TYPE_NAMES[f.type], f.type_name.lstrip("."))
    return TYPE_NAMES[f.type]


def oneof_name(msg, f):
    if not f.HasField("oneof_index") or f.proto3_optional:
        return ""
    return msg.oneof_decl[f.oneof_index].name


def check_message(name, old, new, out):
    short = name.lstrip(".")
    new_by_number = {f.number: f for f in new.field}
    new_by_name = {f.name: f for f in new.field}
    for of in old.field:
        where = "field %s.%s (number %d)" % (short, of.name, of.number)
        nf = new_by_number.get(of.number)
        moved = new_by_name.get(of.name)
        if moved is not None and moved.number != of.number:
            out.append("%s was renumbered to %d" % (where, moved.number))
            continue
        if nf is None:
            out.append("%s was removed" % where)
            continue
        if nf.name != of.name:
            out.append("%s was renamed to %s" % (where, nf.name))
        if field_type(nf) != field_type(of):
            out.append("%s changed type from %s to %s" % (where, field_type(of), field_type(nf)))
        if nf.label != of.label:
            out.append("%s changed label from %s to %s"
                       % (where, LABEL_NAMES[of.label], LABEL_NAMES[nf.label]))
        oo, no = oneof_name(old, of), oneof_name(new, nf)
        if oo != no:
            out.append("%s moved from %s to %s" % (
                where, "oneof " + oo if oo else "no oneof", "oneof " + no if no else "no oneof"))


def check_enum(name, old, new, out):
    short = name.lstrip(".")
    new_by_number = {}
    for v in new.value:
        new_by_number.setdefault(v.number, []).append(v.name)
    new_by_name = {v.name: v.number for v in new.value}
    for ov in old.value:
        where = "enum value %s.%s (number %d)" % (short, ov.name, ov.number)
        if ov.name in new_by_name:
            if new_by_name[ov.name] != ov.number:
                out.append("%s was renumbered to %d" % (where, new_by_name[ov.name]))
        elif ov.number in new_by_number:
            out.append("%s was renamed to %s" % (where, "/".join(new_by_number[ov.number])))
        else:
            out.append("%s was removed" % where)


def check_service(name, old_entry, new_entry, out):
    short = name.lstrip(".")
    old_svc, _sdraft, old_mdraft = old_entry
    new_methods = {m.name: m for m in new_entry[0].method}
    for om in old_svc.method:
        if old_mdraft[om.name]:
            continue
        where = "method %s.%s" % (short, om.name)
        nm = new_methods.get(om.name)
        if nm is None:
            out.append("%s was removed" % where)
            continue
        for attr, what in (("input_type", "input type"), ("output_type", "output type")):
            if getattr(nm, attr) != getattr(om, attr):
                out.append("%s changed its %s from %s to %s" % (
                    where, what, getattr(om, attr).lstrip("."), getattr(nm, attr).lstrip(".")))
        for attr, what in (("client_streaming", "client streaming"),
                           ("server_streaming", "server streaming")):
            if getattr(nm, attr) != getattr(om, attr):
                out.append("%s changed %s from %s to %s" % (
                    where, what, str(getattr(om, attr)).lower(), str(getattr(nm, attr)).lower()))


def compare(old, new):
    out = []
    protected = old.protected_types()
    for name in sorted(old.services):
        entry = old.services[name]
        if entry[1]:
            continue  # the whole service is DRAFT in the release
        if name not in new.services:
            if any(not d for d in entry[2].values()) or not entry[0].method:
                out.append("service %s was removed" % name.lstrip("."))
            continue
        check_service(name, entry, new.services[name], out)
    for name in sorted(old.messages):
        if name not in protected:
            continue
        if name not in new.messages:
            out.append("message %s was removed" % name.lstrip("."))
            continue
        check_message(name, old.messages[name], new.messages[name], out)
    for name in sorted(old.enums):
        if name not in protected:
            continue
        if name not in new.enums:
            out.append("enum %s was removed" % name.lstrip("."))
            continue
        check_enum(name, old.enums[name], new.enums[name], out)
    return out


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: proto_compat.py OLD.pb NEW.pb\n")
        return 2
    old, new = Contract(load(argv[1])), Contract(load(argv[2]))
    if not old.has_source_info:
        sys.stderr.write("proto_compat: warning: %s has no source info; DRAFT markers are not "
                         "seen, every service is checked\n" % argv[1])
    violations = compare(old, new)
    for v in violations:
        print(v)
    if violations:
        print("proto_compat: %d incompatible change(s) from %s to %s"
              % (len(violations), argv[1], argv[2]), file=sys.stderr)
        return 1
    print("proto_compat: %s is compatible with %s" % (argv[2], argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
