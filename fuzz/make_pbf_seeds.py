#!/usr/bin/env python3
"""Writes fuzz/seeds/osm_pbf/tiny_{raw,zlib}.osm.pbf field by field (protobuf by
hand): 6 nodes (one a gate), three ways, one of them through a node the file
lacks. Run from anywhere: python3 fuzz/make_pbf_seeds.py."""
import os
here = os.path.dirname(os.path.abspath(__file__))
import struct, zlib
def varint(n):
    out=b''
    while True:
        b=n&0x7f; n>>=7
        if n: out+=bytes([b|0x80])
        else: return out+bytes([b])
def zz(n): return (n<<1) ^ (n>>63)
def key(f,wt): return varint((f<<3)|wt)
def ld(f,data): return key(f,2)+varint(len(data))+data
def vi(f,n): return key(f,0)+varint(n)
def packed(f,vals): return ld(f,b''.join(varint(v) for v in vals))
def delta(vals):
    out=[];prev=0
    for v in vals: out.append(zz(v-prev)); prev=v
    return out
def blob(kind,payload,compress):
    if compress:
        b=vi(2,len(payload))+ld(3,zlib.compress(payload))
    else:
        b=ld(1,payload)
    h=ld(1,kind.encode())+vi(3,len(b))
    return struct.pack('>I',len(h))+h+b
def pbf(compress):
    header=ld(4,b'OsmSchema-V0.6')+ld(4,b'DenseNodes')+ld(16,b'bacino-fuzz')
    strings=[b'',b'highway',b'residential',b'primary',b'oneway',b'yes',b'maxspeed',b'30',b'route',b'ferry',b'barrier',b'gate']
    st=b''.join(ld(1,s) for s in strings)
    # 6 nodes in a small grid near Monaco
    ids=[1,2,3,4,5,6]
    lats=[437300000,437310000,437320000,437300000,437310000,437320000]  # 1e-7 deg
    lons=[74200000,74200000,74200000,74210000,74210000,74210000]
    kv=[0,0,10,11,0,0,0,0]  # node 3 has barrier=gate: keys_vals: per node list terminated by 0
    kv=[0,0,10,11,0,0,0,0]
    dense=packed(1,delta(ids))+packed(8,delta(lats))+packed(9,delta(lons))+packed(10,[0,0,10,11,0,0,0])
    g1=ld(2,dense)
    w1=vi(1,10)+packed(2,[1,6])+packed(3,[2,7])+packed(8,delta([1,2,3]))
    w2=vi(1,11)+packed(2,[1,4])+packed(3,[3,5])+packed(8,delta([4,5,6]))
    w3=vi(1,12)+packed(2,[1])+packed(3,[2])+packed(8,delta([2,5,99]))
    g2=ld(3,w1)+ld(3,w2)+ld(3,w3)
    block=ld(1,st)+ld(2,g1)+ld(2,g2)+vi(17,100)
    return blob('OSMHeader',header,compress)+blob('OSMData',block,compress)
open(os.path.join(here, 'seeds/osm_pbf/tiny_raw.osm.pbf'),'wb').write(pbf(False))
open(os.path.join(here, 'seeds/osm_pbf/tiny_zlib.osm.pbf'),'wb').write(pbf(True))
