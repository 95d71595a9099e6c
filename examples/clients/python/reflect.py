#!/usr/bin/env python3
"""A grpcurl-style client: lists, describes and calls a Fieldwork service's methods through
gRPC server reflection, with JSON requests and responses and no stubs of the Fieldwork API.

  reflect.py [--token T] [--ca_file F] ADDRESS list
  reflect.py [--token T] [--ca_file F] ADDRESS describe SYMBOL
  reflect.py [--token T] [--ca_file F] ADDRESS call SERVICE/METHOD JSON

`call` takes unary and server-streaming methods (one JSON object printed per response) and
client-streaming ones (JSON: a list of request objects). Debian 12 packages neither grpcurl
nor Python's grpc_reflection module, so this speaks the reflection protocol itself, with
stubs generated from protos/grpc/reflection/v1/reflection.proto. Exit codes as the CLI's:
0 done, 2 bad usage or unknown name, 3 unavailable, 4 refused, 1 any other error status.
"""
import argparse
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

import reflection_pb2
import reflection_pb2_grpc


class Reflection:
    """The server's own descriptions of its services, fetched over one reflection stream per
    question and loaded into a local descriptor pool."""

    def __init__(self, channel, metadata):
        self._stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self._metadata = metadata
        self.pool = descriptor_pool.DescriptorPool()
        self._loaded = set()

    def _ask(self, **request):
        answer = next(self._stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(**request)]),
            metadata=self._metadata))
        if answer.HasField("error_response"):
            raise LookupError(f"{request}: {answer.error_response.error_message}")
        return answer

    def services(self):
        answer = self._ask(list_services="")
        return sorted(s.name for s in answer.list_services_response.service)

    def load_symbol(self, symbol):
        """Loads the file defining `symbol` and the files it imports (the server sends them all),
        dependencies first, as the pool requires."""
        answer = self._ask(file_containing_symbol=symbol)
        files = {}
        for blob in answer.file_descriptor_response.file_descriptor_proto:
            f = descriptor_pb2.FileDescriptorProto.FromString(blob)
            files[f.name] = f
        while any(name not in self._loaded for name in files):
            for name, f in files.items():
                if name not in self._loaded and all(d in self._loaded or d not in files
                                                    for d in f.dependency):
                    self.pool.Add(f)
                    self._loaded.add(name)

    def find(self, symbol):
        self.load_symbol(symbol)
        for find in (self.pool.FindServiceByName, self.pool.FindMessageTypeByName,
                     self.pool.FindEnumTypeByName):
            try:
                return find(symbol)
            except KeyError:
                pass
        raise LookupError(f"{symbol}: not a service, message or enum")


def message_class(descriptor):
    factory = message_factory.MessageFactory()
    # protobuf 4.21 (Debian 12) has GetPrototype; newer releases GetMessageClass.
    get = getattr(message_factory, "GetMessageClass", None) or factory.GetPrototype
    return get(descriptor)


def field_type(field):
    """As in a .proto file: "string", "repeated fieldwork.v1.RowError", "map<string, string>"."""
    if field.message_type and field.message_type.GetOptions().map_entry:
        key, value = (field.message_type.fields_by_name[n] for n in ("key", "value"))
        return f"map<{field_type(key)}, {field_type(value)}>"
    if field.message_type or field.enum_type:
        name = (field.message_type or field.enum_type).full_name
    else:
        name = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type)[len("TYPE_"):].lower()
    return ("repeated " if field.label == field.LABEL_REPEATED else "") + name


def describe(descriptor):
    if hasattr(descriptor, "methods"):  # a service
        print(f"service {descriptor.full_name} {{")
        for m in descriptor.methods:
            stream_in = "stream " if m.client_streaming else ""
            stream_out = "stream " if m.server_streaming else ""
            print(f"  rpc {m.name}({stream_in}{m.input_type.full_name}) returns "
                  f"({stream_out}{m.output_type.full_name});")
        print("}")
    elif hasattr(descriptor, "fields"):  # a message
        print(f"message {descriptor.full_name} {{")
        for f in descriptor.fields:
            print(f"  {field_type(f)} {f.name} = {f.number};")
        print("}")
    else:  # an enum
        print(f"enum {descriptor.full_name} {{")
        for v in descriptor.values:
            print(f"  {v.name} = {v.number};")
        print("}")


def call(channel, reflection, metadata, method_path, request_json):
    service_name, _, method_name = method_path.partition("/")
    service = reflection.find(service_name)
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise LookupError(f"{service_name} has no method {method_name!r}")
    request_class = message_class(method.input_type)
    response_class = message_class(method.output_type)
    parsed = json.loads(request_json)
    if method.client_streaming:
        requests = [json_format.ParseDict(r, request_class()) for r in parsed]
    else:
        request = json_format.ParseDict(parsed, request_class())
    path = f"/{service.full_name}/{method.name}"
    kind = ("stream_" if method.client_streaming else "unary_") + (
        "stream" if method.server_streaming else "unary")
    rpc = getattr(channel, kind)(path, request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=response_class.FromString)
    answer = rpc(iter(requests) if method.client_streaming else request, metadata=metadata)
    for response in (answer if method.server_streaming else [answer]):
        print(json_format.MessageToJson(response, preserving_proto_field_name=True, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--token", default=os.environ.get("FIELDWORK_TOKEN", ""),
                        help="bearer token (default $FIELDWORK_TOKEN)")
    parser.add_argument("--ca_file", default=os.environ.get("FIELDWORK_TLS_CA_FILE", ""))
    parser.add_argument("address")
    parser.add_argument("verb", choices=["list", "describe", "call"])
    parser.add_argument("arguments", nargs="*")
    args = parser.parse_args()
    wanted = {"list": 0, "describe": 1, "call": 2}[args.verb]
    if len(args.arguments) != wanted:
        parser.error(f"{args.verb} takes {wanted} argument(s)")

    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    if args.ca_file:
        with open(args.ca_file, "rb") as f:
            channel = grpc.secure_channel(args.address, grpc.ssl_channel_credentials(f.read()))
    else:
        channel = grpc.insecure_channel(args.address)
    try:
        with channel:
            reflection = Reflection(channel, metadata)
            if args.verb == "list":
                print("\n".join(reflection.services()))
            elif args.verb == "describe":
                describe(reflection.find(args.arguments[0]))
            else:
                call(channel, reflection, metadata, *args.arguments)
    except (LookupError, ValueError, json_format.ParseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"ERROR:\n  Code: {error.code().name}\n  Message: {error.details()}",
              file=sys.stderr)
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            return 3
        if error.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return 4
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
