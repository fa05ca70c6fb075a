#![allow(missing_docs, clippy::unwrap_used)]
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn fin_then_write_then_read() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    let mut c = TcpStream::connect(a).await.unwrap();
    let (mut s, _) = l.accept().await.unwrap();
    c.write_all(b"close").await.unwrap();
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await;
    println!("read1 {:?}", n);
    let w = s.write_all(b"reply").await;
    println!("write {:?}", w);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let n = s.read(&mut buf).await;
    println!("read2 {:?}", n);
    println!("take_error {:?}", s.take_error());
    let w = s.write(b"").await;
    println!("write0 {:?}", w);
    let w = s.write(b"x").await;
    println!("write1 {:?}", w);
}

#[tokio::test]
async fn fin_no_read_then_write_then_read() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    let mut c = TcpStream::connect(a).await.unwrap();
    let (mut s, _) = l.accept().await.unwrap();
    c.write_all(b"close").await.unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await.unwrap();
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let w = s.write_all(b"reply").await;
    println!("B write {:?}", w);
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await;
    println!("B read {:?}", n);
    let n = s.read(&mut buf).await;
    println!("B read again {:?}", n);
}
