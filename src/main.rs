//! The otplab binary.
fn main() {
    println!("otplab: runtime only so far");
}
