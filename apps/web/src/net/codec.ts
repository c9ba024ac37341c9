// Encoding and decoding of the realtime protocol, and the quantization the
// wire uses: positions in millimetres, yaw as a 16-bit fraction of a turn.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientMessageSchema,
  ServerMessageSchema,
  type ClientMessage,
  type ServerMessage,
} from "@hearth/shared/hearth/realtime/v1/realtime_pb";

export type ClientMsg = ClientMessage["msg"];

export function encodeClient(msg: ClientMsg, ref = 0): Uint8Array {
  return toBinary(ClientMessageSchema, create(ClientMessageSchema, { ref, msg }));
}

export function decodeServer(data: ArrayBuffer | Uint8Array): ServerMessage {
  return fromBinary(ServerMessageSchema, data instanceof Uint8Array ? data : new Uint8Array(data));
}

const TAU = Math.PI * 2;

/** metres to the wire's millimetres (sint32). */
export function toMM(m: number): number {
  const v = Math.round(m * 1000);
  return Math.max(-2147483648, Math.min(2147483647, v));
}

export function fromMM(mm: number): number {
  return mm / 1000;
}

/** radians (any range) to a 16-bit fraction of a turn. */
export function packYaw(rad: number): number {
  let f = (rad % TAU) / TAU;
  if (f < 0) f += 1;
  return Math.round(f * 65536) & 0xffff;
}

/** 16-bit fraction of a turn to radians in [0, 2π). */
export function unpackYaw(v: number): number {
  return ((v & 0xffff) / 65536) * TAU;
}
