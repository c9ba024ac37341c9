import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClientMessageSchema, ServerMessageSchema } from "@hearth/shared/hearth/realtime/v1/realtime_pb";
import { decodeServer, encodeClient, fromMM, packYaw, toMM, unpackYaw } from "../src/net/codec";
import { fromBinary } from "@bufbuild/protobuf";
import { ServerClock } from "../src/net/clock";

describe("codec", () => {
  it("round-trips a hello and a pose", () => {
    const bytes = encodeClient({ case: "hello", value: { token: "t", resumeToken: "r", lastSeq: 42n, protocolVersion: 1 } as never }, 7);
    const m = fromBinary(ClientMessageSchema, bytes);
    expect(m.ref).toBe(7);
    expect(m.msg.case).toBe("hello");
    if (m.msg.case === "hello") {
      expect(m.msg.value.token).toBe("t");
      expect(m.msg.value.lastSeq).toBe(42n);
    }
    const pose = fromBinary(ClientMessageSchema, encodeClient({ case: "pose", value: { x: -1.25, y: 0, z: 3, yaw: Math.PI / 2, anim: 1 } as never }));
    expect(pose.msg.case === "pose" && [pose.msg.value.x, pose.msg.value.z, pose.msg.value.anim]).toEqual([-1.25, 3, 1]);
  });

  it("decodes server frames", () => {
    const frame = toBinary(
      ServerMessageSchema,
      create(ServerMessageSchema, {
        seq: 0n,
        msg: { case: "poses", value: { serverTimeMs: 1234.5, entries: [{ slot: 3, x: 1000, y: 0, z: -2000, yaw: 16384, anim: 1 }] } },
      }),
    );
    const m = decodeServer(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength));
    expect(m.msg.case).toBe("poses");
    if (m.msg.case === "poses") {
      expect(m.msg.value.serverTimeMs).toBe(1234.5);
      expect(m.msg.value.entries[0]).toMatchObject({ slot: 3, x: 1000, z: -2000, yaw: 16384 });
    }
    expect(() => decodeServer(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });

  it("quantizes positions and yaw", () => {
    expect(toMM(1.0005)).toBe(1001);
    expect(fromMM(-2500)).toBe(-2.5);
    expect(toMM(1e12)).toBe(2147483647);
    expect(packYaw(0)).toBe(0);
    expect(packYaw(Math.PI / 2)).toBe(16384);
    expect(packYaw(-Math.PI / 2)).toBe(49152);
    expect(packYaw(Math.PI * 2)).toBe(0);
    expect(unpackYaw(32768)).toBeCloseTo(Math.PI);
    for (const a of [0.1, 1, 2, 3, 4, 5, 6]) expect(Math.abs(unpackYaw(packYaw(a)) - a)).toBeLessThan(1e-4);
  });
});

describe("ServerClock", () => {
  it("trusts the lowest-RTT samples", () => {
    let now = 0;
    const c = new ServerClock(() => now, 10, 2);
    c.seed(5000);
    expect(c.offset).toBe(5000);
    // True offset +1000. A slow sample skews its midpoint; fast ones do not.
    c.pong(0, 1000 + 5, 10);
    c.pong(100, 1100 + 300, 400);
    c.pong(500, 1500 + 6, 512);
    expect(c.offset).toBeCloseTo(1000, 3);
    expect(c.rtt).toBe(10);
    now = 2000;
    expect(c.serverNow()).toBeCloseTo(3000, 3);
    c.pong(0, 0, 20000);
    expect(c.rtt).toBe(10);
  });
});
